"""The edges between stacks: a remote state read matched to the stack that writes it, the
inputs and depends_on a stack block declares, and the cycles they make. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from orchestrator.graph.backends import RemoteRef, describe
from orchestrator.graph.cycles import find_cycles, strongly_connected
from orchestrator.graph.model import Edge, StackNode
from orchestrator.graph.stacks import as_list
from orchestrator.graph.tree import join, stack_file


class Linker:
    """Collects the edges of a build, and the references that match no stack or several."""

    def __init__(self, stacks: Mapping[str, StackNode]) -> None:
        self.stacks = stacks
        self.edges: list[Edge] = []
        self.unresolved: list[dict[str, Any]] = []
        self.by_state_key: dict[tuple[str, str], list[str]] = {}
        self.by_name: dict[str, list[str]] = {}
        self.by_folder: dict[str, list[str]] = {}
        self.pattern_matches: dict[tuple[str, ...], list[str]] = {}
        for address, node in sorted(stacks.items()):
            if node.identity:
                key = (node.identity[0], node.identity[-1])
                self.by_state_key.setdefault(key, []).append(address)
            self.by_name.setdefault(node.name, []).append(address)
            if node.environment is not None:
                base = node.name.removesuffix(f"@{node.environment}")
                self.by_name.setdefault(base, []).append(address)
            self.by_folder.setdefault(node.path, []).append(address)

    def connect(self, stack_path: str, ref: RemoteRef) -> None:
        """An edge from the one stack that writes the state `ref` reads, or why there is none."""

        def unresolved(reason: str) -> None:
            entry = {"stack": stack_path, "file": ref.file, "block": ref.block, "reason": reason}
            if ref.via:
                entry["via"] = ref.via
            self.unresolved.append(entry)

        wanted = ref.wanted
        if wanted is None:
            unresolved(ref.reason or "cannot be resolved")
            return
        if ref.pattern is not None:
            self._connect_pattern(stack_path, ref, unresolved)
            return
        same_key = self.by_state_key.get((wanted[0], wanted[-1]), [])
        exact = [p for p in same_key if self.stacks[p].identity == wanted and all(wanted)]
        joined = self._joinable(stack_path, exact) if len(exact) > 1 else exact
        if len(joined) == 1:
            self._add_edge(joined[0], stack_path, ref, "exact", unresolved)
            return
        if exact:
            shown = describe(wanted)
            several = f"several stacks write {shown}: {_listed(joined)}"
            unresolved(several if joined else self._none_joinable(stack_path, shown, exact, ""))
            return
        anywhere = [
            p for p in same_key if not all(wanted) or not all(self.stacks[p].identity or ())
        ]
        loose = self._joinable(stack_path, anywhere)
        if len(loose) == 1:
            self._add_edge(loose[0], stack_path, ref, "key-only", unresolved)
        elif loose:
            unresolved(f"{len(loose)} stacks write {describe(wanted)}: {_listed(loose)}")
        else:
            shown = describe(wanted)
            none = f"no stack in the repository writes {shown}"
            unresolved(self._none_joinable(stack_path, shown, anywhere, none))

    def _connect_pattern(
        self, stack_path: str, ref: RemoteRef, unresolved: Callable[[str], None]
    ) -> None:
        """A reference with deploy-time parts: matched as a pattern against every stack's
        backend; one match makes an edge, several or none leave it unresolved, naming them."""
        assert ref.wanted is not None and ref.pattern is not None
        pattern = ref.pattern
        candidates = self._joinable(stack_path, self._matching(ref.wanted))
        shown = f"{pattern.field} {pattern.shown!r}"
        if len(candidates) == 1:
            self._add_edge(candidates[0], stack_path, ref, "pattern", unresolved)
        elif candidates:
            unresolved(
                f"{shown} matches {len(candidates)} stacks: {_listed(candidates)} "
                f"(the unknown part: {pattern.why})"
            )
        else:
            matching = self._matching(ref.wanted)
            unresolved(
                self._none_joinable(
                    stack_path, shown, matching, f"{shown} matches no stack's backend"
                )
                + f" (the unknown part: {pattern.why})"
            )

    def _joinable(self, reader: str, candidates: list[str]) -> list[str]:
        """The candidates a read of `reader` may join (DESIGN §3, "Environments"): not itself;
        for an environment's instance, only the stacks without environments and the instances
        of the same environment."""
        environment = self.stacks[reader].environment
        return [
            p
            for p in candidates
            if p != reader
            and (environment is None or self.stacks[p].environment in (None, environment))
        ]

    def _none_joinable(self, reader: str, shown: str, elsewhere: list[str], none: str) -> str:
        """Why no stack matches a read: `none`, or only other environments' instances do."""
        others = [p for p in elsewhere if p != reader]
        environment = self.stacks[reader].environment
        if reader in elsewhere and not others:
            return "reads the state of its own stack"
        if environment is None or not others:
            return none
        return (
            f"{shown} is written only by instances of other environments than "
            f"{environment!r}: {_listed(others)}"
        )

    def _matching(self, wanted: tuple[str, ...]) -> list[str]:
        """The stacks whose backend `wanted` matches, worked out once per pattern."""
        found = self.pattern_matches.get(wanted)
        if found is None:
            fields = [_regex(part) if part else None for part in wanted[1:]]
            found = [
                path
                for path, node in sorted(self.stacks.items())
                if node.identity and _matches(wanted[0], fields, node.identity)
            ]
            self.pattern_matches[wanted] = found
        return found

    def _add_edge(
        self,
        upstream: str,
        downstream: str,
        ref: RemoteRef,
        match: str,
        unresolved: Callable[[str], None],
    ) -> None:
        if upstream == downstream:
            unresolved("reads the state of its own stack")
            return
        pattern = ref.pattern.shown if ref.pattern else None
        self.edges.append(
            Edge(upstream, downstream, "data", ref.file, ref.block, match, ref.via, pattern)
        )
        if ref.wanted and ref.wanted[0] == "local" and self.stacks[upstream].managed_state:
            self.stacks[downstream].local_reads.append({"path": ref.wanted[1], "stack": upstream})

    def declared_edges(self, node: StackNode) -> None:
        """The edges of the stack block's `input` blocks and `depends_on` list."""
        file = stack_file(node.path)
        node.inputs = []
        for entry in as_list(node.block.get("input")):
            if not isinstance(entry, dict):
                self._refuse(
                    node,
                    file,
                    "input",
                    f'input is a block, `input "<name>" {{ … }}`, not {entry!r}',
                )
                continue
            for name, body in entry.items():
                body = body if isinstance(body, dict) else {}
                reference = str(body.get("stack") or "")
                upstream = self._declared(node, reference, "data", file, f"input.{name}")
                if upstream is not None:
                    output = str(body.get("output") or name)
                    node.inputs.append({"name": name, "stack": upstream, "output": output})
        for reference in as_list(node.block.get("depends_on")):
            self._declared(node, str(reference), "order", file, "depends_on")

    def _declared(
        self, node: StackNode, reference: str, kind: str, file: str, block: str
    ) -> str | None:
        upstream, why = self._find_stack(node, reference)
        if upstream is None or upstream == node.address:
            self._refuse(node, file, block, f"{reference!r} {why or 'names the stack itself'}")
            return None
        self.edges.append(Edge(upstream, node.address, kind, file, block))
        return upstream

    def _refuse(self, node: StackNode, file: str, block: str, reason: str) -> None:
        self.unresolved.append(
            {"stack": node.address, "file": file, "block": block, "reason": reason}
        )

    def _find_stack(self, node: StackNode, reference: str) -> tuple[str | None, str | None]:
        """The stack a declared reference names — a path relative to the stack's folder or a
        stack name, either optionally `@<environment>` — or why none: an instance names the
        instance of its own environment unless the reference says which."""
        literal = self.by_folder.get(join(node.path, reference)) or self.by_name.get(reference)
        name, _, environment = ("", "", "") if literal else reference.rpartition("@")
        if not name:  # no `@`, or a folder or name that holds one
            name, environment = reference, ""
        candidates = (
            literal or self.by_folder.get(join(node.path, name)) or self.by_name.get(name) or []
        )
        candidates = sorted(set(candidates))
        if environment:
            candidates = [p for p in candidates if self.stacks[p].environment == environment]
        elif len(candidates) > 1:
            same = [p for p in candidates if self.stacks[p].environment == node.environment]
            candidates = same or candidates
        if len(candidates) == 1:
            return candidates[0], None
        if not candidates:
            return None, "names no stack"
        return (
            None,
            f"names {len(candidates)} stacks: {', '.join(candidates)}; "
            "name one as <path>@<environment>",
        )


def _listed(addresses: list[str], most: int = 10) -> str:
    """Stacks named in a reason: the first `most`, then how many more (a reason stays short)."""
    shown = ", ".join(addresses[:most])
    return shown if len(addresses) <= most else f"{shown} and {len(addresses) - most} more"


def _regex(part: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(piece) for piece in part.split("*")))


def _matches(kind: str, fields: list[re.Pattern[str] | None], identity: tuple[str, ...]) -> bool:
    """Each known part of the read (`*` for an unknown stretch; None, a field unknown in full,
    matches anything) matches the stack's; the stack must know its key, the part that names
    the state."""
    if kind != identity[0] or len(fields) != len(identity) - 1 or not identity[-1]:
        return False
    return all(
        regex is None or not have or regex.fullmatch(have) is not None
        for regex, have in zip(fields, identity[1:], strict=True)
    )


def cycle_findings(edges: Iterable[Edge]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(errors, warnings) of the cycles, one per group of stacks that reach each other: a group
    joined by data edges only is a warning (its members plan on their own; the graph orders
    nothing between them); a group with a depends_on inside is an error that blocks its
    stacks (the error's `stacks`), and only them."""
    edges = list(edges)
    groups = strongly_connected((edge.upstream, edge.downstream) for edge in edges)
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for group in sorted({tuple(sorted(g)) for g in groups.values()}):
        inside = [e for e in edges if e.upstream in group and e.downstream in group]
        members = ", ".join(group)
        loop = " → ".join(find_cycles((e.upstream, e.downstream) for e in inside)[0])
        order = sorted(f"{e.upstream} → {e.downstream}" for e in inside if e.kind == "order")
        if order:
            message = (
                f"cycle through depends_on ({', '.join(order)}) between {members}: "
                "these stacks cannot run until it is broken"
            )
            errors.append(_cycle_entry("cycle", list(group), message))
        else:
            message = (
                f"cycle of data edges ({loop}) between {members}: each plans on its own, "
                "and what is downstream of them waits for all of them"
            )
            warnings.append(_cycle_entry("data_cycle", list(group), message))
    return errors, warnings


def _cycle_entry(kind: str, members: list[str], message: str) -> dict[str, Any]:
    return {"kind": kind, "file": None, "line": None, "stacks": members, "message": message}
