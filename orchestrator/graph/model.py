"""The stack graph as data (DESIGN §3): stacks, the edges between them, what could not be
resolved, the errors; and the graph as JSON. Pure."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.graph.cycles import strongly_connected
from orchestrator.stackconfig.stack import StackSettings


@dataclass(frozen=True)
class Edge:
    upstream: str
    downstream: str
    kind: str
    file: str
    block: str
    match: str | None = None
    via: str | None = None
    pattern: str | None = None

    def to_json(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "from": self.upstream,
            "to": self.downstream,
            "kind": self.kind,
            "evidence": {"file": self.file, "block": self.block},
        }
        if self.via:
            view["evidence"]["via"] = self.via
        if self.pattern:
            view["evidence"]["pattern"] = self.pattern
        if self.match:
            view["match"] = self.match
        return view


@dataclass
class StackNode:
    """A stack, or one environment's instance of a stack folder (DESIGN §3): `path` is always
    the folder, `address` the key in the graph (`path`, or `path@environment`)."""

    path: str
    name: str
    environment: str | None = None
    backend_files: list[str] = field(default_factory=list)  # -backend-config files, in order
    var_files: list[str] = field(default_factory=list)  # -var-file files, in order
    labels: list[str] = field(default_factory=list)
    autodeploy: bool = False
    worker_pool: str = "default"
    trigger_always: bool = False
    backend_type: str | None = None
    backend_config: dict[str, Any] = field(default_factory=dict)
    identity: tuple[str, ...] | None = None
    watch: list[str] = field(default_factory=list)
    module_dirs: set[str] = field(default_factory=set)
    module_targets: set[str] = field(default_factory=set)
    module_overflow: str | None = None
    errors: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # files the graph could not read
    # a cycle through depends_on (set by each build), an environment's missing file: they stop
    # only the runs a change brings, never make the stack affected by every push
    cycle_blockers: list[str] = field(default_factory=list)
    environment_blockers: list[str] = field(default_factory=list)
    block: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, str]] = field(default_factory=list)
    local_reads: list[dict[str, str]] = field(default_factory=list)
    settings: StackSettings = field(default_factory=StackSettings)

    def copy(self) -> StackNode:
        """A node of one build's own: a build sets blockers, inputs and reads on its nodes by
        assignment, never on the node an analysis remembers, so a graph returned earlier
        keeps what it said."""
        clone = object.__new__(StackNode)
        clone.__dict__.update(self.__dict__)
        return clone

    @property
    def run_blockers(self) -> list[str]:
        """Why no run of this stack may reach Terraform. Unread files make the stack affected by
        every push (a change may hide in them); a depends_on cycle does not: it only stops the
        runs a change brings."""
        return [*self.blockers, *self.environment_blockers, *self.cycle_blockers]

    @property
    def address(self) -> str:
        return address_of(self.path, self.environment)

    @property
    def managed_state(self) -> bool:
        return self.backend_type in (None, "local")

    def to_json(self) -> dict[str, Any]:
        backend = None
        if self.backend_type is not None:
            backend = {"type": self.backend_type, "config": self.backend_config}
        view: dict[str, Any] = {
            "path": self.path,
            "name": self.name,
            "labels": self.labels,
            "backend": backend,
            **self.settings.to_json(),
        }
        if self.environment is not None:
            view["address"] = self.address
            view["environment"] = {
                "name": self.environment,
                "backend_config": self.backend_files,
                "var_files": self.var_files,
            }
        if self.run_blockers:
            view["blocked"] = self.run_blockers
        return view


@dataclass
class Graph:
    stacks: dict[str, StackNode]
    edges: list[Edge]
    unresolved: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    link_ends: dict[str, str] = field(default_factory=dict)  # a link inside → where it ends
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # duplicates, data cycles
    _upstreams: dict[str, set[str]] | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "stacks": [self.stacks[p].to_json() for p in sorted(self.stacks)],
            "edges": [e.to_json() for e in sorted(self.edges, key=_edge_order)],
            "unresolved": sorted(
                self.unresolved, key=lambda u: (u["stack"], u["file"], u["block"])
            ),
            "errors": sorted(self.errors, key=lambda e: (e.get("file") or "", e["message"])),
            "warnings": self.warnings(),
        }

    def warnings(self) -> list[dict[str, Any]]:
        """Things that work but surprise: two stacks writing one state, a cycle of data edges,
        a local backend (it would keep state in a throw-away workspace, so stackrun manages
        that stack's state instead)."""
        return list(self.conflicts) + [
            {
                "stack": path,
                "message": 'backend "local" keeps state in the run\'s throw-away '
                "workspace; stackrun manages this stack's state instead",
            }
            for path, node in sorted(self.stacks.items())
            if node.backend_type == "local"
        ]

    def downstream(self, paths: set[str], kinds: tuple[str, ...] = ("data",)) -> dict[str, str]:
        """Every stack downstream of `paths` through edges of `kinds`, with the nearest upstream."""
        outgoing: dict[str, list[str]] = {}
        for edge in self.edges:
            if edge.kind in kinds:
                outgoing.setdefault(edge.upstream, []).append(edge.downstream)
        found: dict[str, str] = {}
        frontier = deque(sorted(paths))
        while frontier:
            current = frontier.popleft()
            for downstream in outgoing.get(current, []):
                if downstream not in paths and downstream not in found:
                    found[downstream] = current
                    frontier.append(downstream)
        return found

    def upstreams_of(self, path: str) -> set[str]:
        """The stacks whose runs `path`'s run waits for. Stacks on one cycle wait for none of
        each other; a stack downstream of a cycle waits for every stack on it."""
        if self._upstreams is None:
            groups = strongly_connected((e.upstream, e.downstream) for e in self.edges)
            self._upstreams = {}
            for edge in self.edges:
                group = groups.get(edge.upstream, frozenset((edge.upstream,)))
                if edge.downstream not in group:
                    self._upstreams.setdefault(edge.downstream, set()).update(group)
        return self._upstreams.get(path, set())

    def upstreams_first(self, paths: Iterable[str]) -> list[str]:
        """`paths` ordered so every upstream comes before its downstreams, by name otherwise."""
        ordered: list[str] = []
        pending = set(paths)
        while pending:
            ready = sorted(p for p in pending if not (self.upstreams_of(p) & pending))
            for path in ready or sorted(pending)[:1]:
                ordered.append(path)
                pending.discard(path)
        return ordered


def address_of(path: str, environment: str | None) -> str:
    """A stack's key: its folder, or `folder@environment` for an environment's instance."""
    return path if environment is None else f"{path}@{environment}"


def _edge_order(edge: Edge) -> tuple[str, ...]:
    return (edge.upstream, edge.downstream, edge.kind, edge.file, edge.block)
