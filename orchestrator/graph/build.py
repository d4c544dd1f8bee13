"""The stack graph of a repository at a commit (DESIGN §3), built from per-file facts. Pure."""

from __future__ import annotations

import posixpath
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.aws.role import AwsRole, parse_role
from orchestrator.drift import schedule
from orchestrator.drift.schedule import DriftSettings
from orchestrator.graph import blockers
from orchestrator.graph.cycles import find_cycles
from orchestrator.graph.evaluate import REPO_ROOT, Argument, Scope, Unresolved
from orchestrator.graph.facts import STACK_FILE, Facts
from orchestrator.handoff.spec import HandoffSpec, parse_handoff
from orchestrator.vcs.links import Links

IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "s3": ("bucket", "key"),
    "gcs": ("bucket", "prefix"),
    "azurerm": ("container_name", "key"),
    "local": ("path",),
}
_MAX_MODULE_DEPTH = 16
# Module calls can fan out at every level (10 calls of a module that makes 10 calls…): past
# this many module instances in one stack the graph stops and the stack is blocked.
MAX_MODULE_INSTANCES = 10_000


@dataclass(frozen=True)
class Edge:
    upstream: str
    downstream: str
    kind: str
    file: str
    block: str
    match: str | None = None
    via: str | None = None

    def to_json(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "from": self.upstream,
            "to": self.downstream,
            "kind": self.kind,
            "evidence": {"file": self.file, "block": self.block},
        }
        if self.via:
            view["evidence"]["via"] = self.via
        if self.match:
            view["match"] = self.match
        return view


@dataclass
class StackNode:
    path: str
    name: str
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
    blockers: list[str] = field(default_factory=list)
    block: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, str]] = field(default_factory=list)
    local_reads: list[dict[str, str]] = field(default_factory=list)
    drift: DriftSettings | None = None
    drift_errors: list[str] = field(default_factory=list)
    handoff: HandoffSpec | None = None
    handoff_errors: list[str] = field(default_factory=list)
    aws: AwsRole | None = None
    aws_errors: list[str] = field(default_factory=list)

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
        }
        if self.drift is not None:
            view["drift_detection"] = {
                "schedules": list(self.drift.schedules),
                "reconcile": self.drift.reconcile,
            }
        if self.handoff is not None:
            view["handoff"] = {"argocd": self.handoff.to_json()}
        if self.aws is not None:
            view["aws"] = self.aws.to_json()
        if self.blockers:
            view["blocked"] = list(self.blockers)
        return view


@dataclass
class Graph:
    stacks: dict[str, StackNode]
    edges: list[Edge]
    unresolved: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    link_ends: dict[str, str] = field(default_factory=dict)  # a link inside → where it ends
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
        """Things that work but surprise: a local backend would keep state in a throw-away
        workspace, so stackrun manages that stack's state instead."""
        return [
            {
                "stack": path,
                "message": 'backend "local" keeps state in the run\'s throw-away '
                "workspace; stackrun manages this stack's state instead",
            }
            for path, node in sorted(self.stacks.items())
            if node.backend_type == "local"
        ]

    def fatal_errors(self) -> list[dict[str, Any]]:
        """Errors that stop a push: cycles and two stacks writing the same state."""
        return [e for e in self.errors if e["kind"] in ("cycle", "duplicate_backend")]

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
        if self._upstreams is None:
            self._upstreams = {}
            for edge in self.edges:
                self._upstreams.setdefault(edge.downstream, set()).add(edge.upstream)
        return self._upstreams.get(path, set())


def _edge_order(edge: Edge) -> tuple[str, ...]:
    return (edge.upstream, edge.downstream, edge.kind, edge.file, edge.block)


def _directory(path: str) -> str:
    return path.rpartition("/")[0] or "."


def _join(base: str, relative: str) -> str:
    joined = posixpath.normpath(posixpath.join("" if base == "." else base, relative))
    return "." if joined in ("", ".") else joined


@dataclass(frozen=True)
class RemoteRef:
    """A terraform_remote_state block: the state identity it reads, or why it is unknown."""

    file: str
    block: str
    via: str | None
    wanted: tuple[str, ...] | None
    reason: str | None


@dataclass
class _Analysis:
    node: StackNode
    refs: list[RemoteRef]
    fingerprint: dict[str, tuple[Facts, ...]]


# Keyed by the identity of the facts objects of the stack's own folder: the entry holds those
# objects, so their ids cannot be reused while it lives.
_MEMO: OrderedDict[tuple[str, bool, tuple[int, ...], int], _Analysis] = OrderedDict()
_MEMO_SIZE = 50_000


class _Builder:
    def __init__(self, facts: Mapping[str, Facts], links: Links) -> None:
        self.facts = facts
        self.links = links.problems
        self.folder_links = links.folders
        self.link_ends = {**links.files, **links.folders}
        # Module folders are followed through folder links: an analysis depends on them too.
        self.links_key = hash(tuple(sorted(links.folders.items())))
        self.by_dir: dict[str, dict[str, Facts]] = {}
        self.unread_by_dir: dict[str, list[str]] = {}
        for path, file_facts in sorted(facts.items()):
            self.by_dir.setdefault(_directory(path), {})[path] = file_facts
            error = file_facts.get("error") or {}
            if error.get("kind") == "limit":
                self.unread_by_dir.setdefault(_directory(path), []).append(
                    f"{path}: {error['message']}"
                )
        self.tf_by_dir: dict[str, list[tuple[str, Facts]]] = {
            directory: [
                (path, f)
                for path, f in files.items()
                if posixpath.basename(path) != STACK_FILE and "tfvars" not in f
            ]
            for directory, files in self.by_dir.items()
        }
        self.fingerprints: dict[str, tuple[Facts, ...]] = {
            directory: tuple(files.values()) for directory, files in self.by_dir.items()
        }
        self.errors: list[dict[str, Any]] = []
        self.unresolved: list[dict[str, Any]] = []
        self.edges: list[Edge] = []
        self.stacks: dict[str, StackNode] = {}
        self.by_name: dict[str, list[str]] = {}

    def build(self) -> Graph:
        for _, file_facts in sorted(self.facts.items()):
            if "error" in file_facts:
                self.errors.append({"kind": "parse", **file_facts["error"]})
        module_sources = self._module_source_dirs()
        analyses: dict[str, _Analysis] = {}
        for directory in sorted(self.by_dir):
            analysis = self._analysis(directory, directory in module_sources)
            if analysis is not None:
                analyses[directory] = analysis
                self.stacks[directory] = analysis.node
        self._index_backends()
        for path, node in sorted(self.stacks.items()):
            self.by_name.setdefault(node.name, []).append(path)
            self._block_errors(node)
        self.errors.extend(blockers.link_errors(self.links))
        blockers.record(self.stacks, self.links, self.unread_by_dir)
        self._check_duplicate_backends()
        for path in sorted(analyses):
            self.stacks[path].local_reads = []
            for ref in analyses[path].refs:
                self._connect(path, ref)
            self._declared_edges(self.stacks[path])
        self._check_cycles()
        return Graph(self.stacks, self.edges, self.unresolved, self.errors, self.link_ends)

    def _block_errors(self, node: StackNode) -> None:
        """Errors of the stack block's drift, hand-off and AWS settings, against stackrun.hcl."""
        file = STACK_FILE if node.path == "." else f"{node.path}/{STACK_FILE}"
        blocks = (
            ("drift_schedule", node.drift_errors),
            ("handoff", node.handoff_errors),
            ("aws", node.aws_errors),
        )
        for kind, messages in blocks:
            for message in messages:
                self.errors.append({"kind": kind, "file": file, "line": None, "message": message})

    def _analysis(self, directory: str, is_module_source: bool) -> _Analysis | None:
        """What one stack says on its own (node, backend, remote-state references); reused
        from an earlier build while none of the folders it read has changed."""
        memo_key = (
            directory,
            is_module_source,
            tuple(map(id, self.fingerprints[directory])),
            self.links_key,
        )
        cached = _MEMO.get(memo_key)
        if cached is not None and self._unchanged(cached.fingerprint):
            _MEMO.move_to_end(memo_key)
            return cached
        node = self._stack_node(directory, is_module_source)
        if node is None:
            return None
        scope = self._root_scope(directory)
        self._resolve_backend(node, scope)
        refs = self._remote_refs(node, scope)
        visited = {directory, *node.module_dirs}
        fingerprint = {d: self.fingerprints.get(d, ()) for d in visited}
        analysis = _Analysis(node, refs, fingerprint)
        _MEMO[memo_key] = analysis
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
        return analysis

    def _unchanged(self, fingerprint: Mapping[str, tuple[Facts, ...]]) -> bool:
        """Every folder the analysis read still holds the very same facts objects."""
        for directory, before in fingerprint.items():
            now = self.fingerprints.get(directory, ())
            if len(now) != len(before) or any(a is not b for a, b in zip(now, before, strict=True)):
                return False
        return True

    def _tf_facts(self, directory: str) -> list[tuple[str, Facts]]:
        return self.tf_by_dir.get(directory, [])

    def _through_links(self, folder: str) -> str:
        """A folder path with a folder link on its way replaced by where the link ends."""
        if not self.folder_links:
            return folder
        parts = folder.split("/")
        for cut in range(len(parts), 0, -1):
            end = self.folder_links.get("/".join(parts[:cut]))
            if end is not None:
                return _join(end or ".", "/".join(parts[cut:]) or ".")
        return folder

    def _module_source_dirs(self) -> set[str]:
        sources: set[str] = set()
        for directory in self.by_dir:
            for _, file_facts in self._tf_facts(directory):
                for module in file_facts.get("modules") or []:
                    source = module.get("source")
                    if _is_local(source):
                        sources.add(self._through_links(_join(directory, str(source))))
        return sources

    def _stack_node(self, directory: str, is_module_source: bool) -> StackNode | None:
        files = self.by_dir[directory]
        stack_file = files.get(STACK_FILE if directory == "." else f"{directory}/{STACK_FILE}")
        block = stack_file.get("stack") if stack_file else None
        backend = next((f["backend"] for _, f in self._tf_facts(directory) if "backend" in f), None)
        broken = [f["error"] for f in files.values() if "error" in f]
        unparsed = [e for e in broken if e.get("kind") != "limit"]
        has_terraform = any(_is_terraform(p) for p in files)
        if block is None and backend is None:
            declared = stack_file is not None and "error" in stack_file
            guessed = broken and has_terraform and not is_module_source
            if not (declared or guessed):
                return None
        block = block or {}
        node = StackNode(
            path=directory,
            name=str(block.get("name") or directory),
            labels=[str(x) for x in block.get("labels") or []],
            autodeploy=_boolean(block.get("autodeploy")),
            worker_pool=str(block.get("worker_pool") or "default"),
            trigger_always=_boolean(block.get("trigger_always")),
            backend_type=backend["type"] if backend else None,
            watch=[str(x) for x in _as_list(block.get("watch"))],
            errors=[
                f"{e['file']}:{e['line']}: {e['message']}"
                if e.get("line")
                else f"{e['file']}: {e['message']}"
                for e in unparsed
            ],
            block=block,
        )
        node.backend_config = dict(backend["config"]) if backend else {}
        node.drift, node.drift_errors = schedule.parse(block.get("drift_detection"))
        node.handoff, node.handoff_errors = parse_handoff(block.get("handoff"))
        node.aws, node.aws_errors = parse_role(block)
        return node

    def _scope(self, directory: str, arguments: Mapping[str, Argument] | None = None) -> Scope:
        variable_blocks: dict[str, str] = {}
        variable_values: dict[str, Any] = {}
        local_blocks: list[str] = []
        local_values: dict[str, Any] = {}
        first_file = directory
        for path, file_facts in self._tf_facts(directory):
            first_file = path
            variable_blocks.update(file_facts.get("variables") or {})
            variable_values.update(file_facts.get("json_variables") or {})
            local_blocks.extend(file_facts.get("locals") or [])
            local_values.update(file_facts.get("json_locals") or {})
        return Scope(
            directory,
            first_file,
            variable_blocks,
            variable_values,
            local_blocks,
            local_values,
            dict(arguments or {}),
        )

    def _root_scope(self, directory: str) -> Scope:
        scope = self._scope(directory)
        tfvars = sorted(
            (p for p, f in self.by_dir.get(directory, {}).items() if "tfvars" in f),
            key=lambda p: (not p.endswith("terraform.tfvars"), p),
        )
        values = dict(scope.variable_values)
        for path in tfvars:
            values.update(self.facts[path]["tfvars"])
        scope.variable_values = values
        broken = sorted(
            p for p, f in self.by_dir.get(directory, {}).items() if "error" in f and _is_tfvars(p)
        )
        scope.broken_values = broken[0] if broken else None
        return scope

    def _resolve_backend(self, node: StackNode, scope: Scope) -> None:
        resolved: dict[str, Any] = {}
        for key, value in node.backend_config.items():
            evaluated = scope.evaluate(value)
            resolved[key] = None if isinstance(evaluated, Unresolved) else evaluated
        node.backend_config = resolved
        if node.backend_type is None:
            node.identity = ("local", _join(node.path, "terraform.tfstate"))
            return
        fields = IDENTITY_FIELDS.get(node.backend_type)
        if fields is None:
            return
        if node.backend_type == "local":
            raw = resolved.get("path") or "terraform.tfstate"
            node.identity = ("local", _state_path(node.path, str(raw)))
            return
        node.identity = (node.backend_type, *(_normal(f, resolved.get(f)) for f in fields))

    def _check_duplicate_backends(self) -> None:
        owners: dict[tuple[str, ...], list[str]] = {}
        for path, node in sorted(self.stacks.items()):
            if node.identity and all(part for part in node.identity):
                owners.setdefault(node.identity, []).append(path)
        for identity, paths in sorted(owners.items()):
            if len(paths) > 1:
                self.errors.append(
                    {
                        "kind": "duplicate_backend",
                        "file": None,
                        "line": None,
                        "message": f"stacks {' and '.join(paths)} write the same state "
                        f"({_describe(identity)})",
                    }
                )

    def _remote_refs(self, stack: StackNode, root: Scope) -> list[RemoteRef]:
        refs: list[RemoteRef] = []
        instances = self._module_instances(stack.path, root, stack.module_targets)
        for count, (directory, scope, via, _depth) in enumerate(instances, start=1):
            if count > MAX_MODULE_INSTANCES:
                stack.module_overflow = (
                    f"{stack.path}: its local module calls make more than "
                    f"{MAX_MODULE_INSTANCES} module instances; the graph stopped there"
                )
                break
            if directory != stack.path:
                stack.module_dirs.add(directory)
            for path, file_facts in self._tf_facts(directory):
                for state in file_facts.get("remote_states") or []:
                    block = f"data.terraform_remote_state.{state['name']}"
                    refs.append(self._remote_ref(stack.path, path, block, via, state, scope))
        return refs

    def _module_instances(
        self, stack_path: str, root: Scope, targets: set[str]
    ) -> Iterator[tuple[str, Scope, str | None, int]]:
        """The stack's root module, then every local module it calls, breadth first; the
        folder of every local module call goes into `targets`, found or not."""
        pending: deque[tuple[str, Scope, str | None, int, tuple[str, ...]]] = deque(
            [(stack_path, root, None, 0, (stack_path,))]
        )
        while pending:
            directory, scope, via, depth, chain = pending.popleft()
            yield directory, scope, via, depth
            if depth >= _MAX_MODULE_DEPTH:
                continue
            for _, file_facts in self._tf_facts(directory):
                for module in file_facts.get("modules") or []:
                    source = module.get("source")
                    if not _is_local(source):
                        continue
                    target = self._through_links(_join(directory, str(source)))
                    targets.add(target)
                    if target in chain or target not in self.by_dir:
                        continue
                    arguments = {k: Argument(v, scope) for k, v in (module["args"] or {}).items()}
                    name = f"module.{module['name']}"
                    pending.append(
                        (
                            target,
                            self._scope(target, arguments),
                            f"{via}.{name}" if via else name,
                            depth + 1,
                            (*chain, target),
                        )
                    )

    def _remote_ref(
        self,
        stack_path: str,
        file: str,
        block: str,
        via: str | None,
        state: dict[str, Any],
        scope: Scope,
    ) -> RemoteRef:
        """The state a terraform_remote_state block reads, or why it cannot be known."""

        def unresolved(reason: str) -> RemoteRef:
            return RemoteRef(file, block, via, None, reason)

        backend = scope.evaluate(state.get("backend"))
        if not isinstance(backend, str):
            return unresolved("the backend type cannot be evaluated statically")
        fields = IDENTITY_FIELDS.get(backend)
        if fields is None:
            return unresolved(f"backend {backend!r} is not matched to stacks")
        config = scope.evaluate(state.get("config") or {})
        if isinstance(config, Unresolved) or not isinstance(config, dict):
            why = config.reason if isinstance(config, Unresolved) else "it is not an object"
            return unresolved(f"config cannot be resolved: {why}")
        values = {f: scope.evaluate(config.get(f)) for f in fields}
        key_field = fields[-1]
        key = values[key_field]
        if isinstance(key, Unresolved) or key is None:
            reason = key.reason if isinstance(key, Unresolved) else f"{key_field} is not set"
            return unresolved(f"{key_field} cannot be resolved: {reason}")
        if backend == "local":
            return RemoteRef(file, block, via, ("local", _state_path(stack_path, str(key))), None)
        wanted = (backend, *(_normal(f, values[f]) for f in fields))
        return RemoteRef(file, block, via, wanted, None)

    def _index_backends(self) -> None:
        self.by_state_key: dict[tuple[str, str], list[str]] = {}
        for path, node in sorted(self.stacks.items()):
            if node.identity:
                key = (node.identity[0], node.identity[-1])
                self.by_state_key.setdefault(key, []).append(path)

    def _connect(self, stack_path: str, ref: RemoteRef) -> None:
        def unresolved(reason: str) -> None:
            entry = {"stack": stack_path, "file": ref.file, "block": ref.block, "reason": reason}
            if ref.via:
                entry["via"] = ref.via
            self.unresolved.append(entry)

        wanted = ref.wanted
        if wanted is None:
            unresolved(ref.reason or "cannot be resolved")
            return
        same_key = self.by_state_key.get((wanted[0], wanted[-1]), [])
        exact = [p for p in same_key if self.stacks[p].identity == wanted and all(wanted)]
        if len(exact) == 1:
            self._add_edge(exact[0], stack_path, ref, "exact", unresolved)
            return
        if len(exact) > 1:
            unresolved(f"several stacks write {_describe(wanted)}: {', '.join(exact)}")
            return
        loose = [p for p in same_key if not all(wanted) or not all(self.stacks[p].identity or ())]
        if len(loose) == 1:
            self._add_edge(loose[0], stack_path, ref, "key-only", unresolved)
        elif loose:
            unresolved(f"{len(loose)} stacks write {_describe(wanted)}: {', '.join(loose)}")
        else:
            unresolved(f"no stack in the repository writes {_describe(wanted)}")

    def _add_edge(
        self, upstream: str, downstream: str, ref: RemoteRef, match: str, unresolved: Any
    ) -> None:
        if upstream == downstream:
            unresolved("reads the state of its own stack")
            return
        self.edges.append(Edge(upstream, downstream, "data", ref.file, ref.block, match, ref.via))
        if ref.wanted and ref.wanted[0] == "local" and self.stacks[upstream].managed_state:
            self.stacks[downstream].local_reads.append({"path": ref.wanted[1], "stack": upstream})

    def _declared_edges(self, node: StackNode) -> None:
        file = STACK_FILE if node.path == "." else f"{node.path}/{STACK_FILE}"
        node.inputs = []
        for entry in _as_list(node.block.get("input")):
            for name, body in (entry or {}).items():
                reference = str((body or {}).get("stack") or "")
                upstream = self._declared(node, reference, "data", file, f"input.{name}")
                if upstream is not None:
                    output = str((body or {}).get("output") or name)
                    node.inputs.append({"name": name, "stack": upstream, "output": output})
        for reference in _as_list(node.block.get("depends_on")):
            self._declared(node, str(reference), "order", file, "depends_on")

    def _declared(
        self, node: StackNode, reference: str, kind: str, file: str, block: str
    ) -> str | None:
        upstream = self._find_stack(node.path, reference)
        if upstream is None or upstream == node.path:
            why = "names no stack" if upstream is None else "names the stack itself"
            self.unresolved.append(
                {"stack": node.path, "file": file, "block": block, "reason": f"{reference!r} {why}"}
            )
            return None
        self.edges.append(Edge(upstream, node.path, kind, file, block))
        return upstream

    def _find_stack(self, from_path: str, reference: str) -> str | None:
        candidate = _join(from_path, reference)
        if candidate in self.stacks:
            return candidate
        named = self.by_name.get(reference, [])
        return named[0] if len(named) == 1 else None

    def _check_cycles(self) -> None:
        for cycle in find_cycles((edge.upstream, edge.downstream) for edge in self.edges):
            message = "cycle: " + " → ".join(cycle)
            self.errors.append({"kind": "cycle", "file": None, "line": None, "message": message})


def build(facts: Mapping[str, Facts], links: Links | None = None) -> Graph:
    """The graph of a tree given as {path: facts of that file} and its links (vcs/links.py)."""
    return _Builder(facts, links or Links({}, {}, {}, {})).build()


def _is_local(source: Any) -> bool:
    return isinstance(source, str) and (source.startswith("./") or source.startswith("../"))


def _is_tfvars(path: str) -> bool:
    return path.endswith("terraform.tfvars") or path.endswith(".auto.tfvars")


def _is_terraform(path: str) -> bool:
    return path.endswith(".tf") or path.endswith(".tf.json")


def _boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _state_path(stack_path: str, raw: str) -> str:
    """A local state path: relative to the stack's directory, or to the repository root when
    it was built from path.module."""
    if raw.startswith(REPO_ROOT):
        return _join(".", raw[len(REPO_ROOT) :])
    return _join(stack_path, raw)


def _normal(field_name: str, value: Any) -> str:
    if value is None or isinstance(value, Unresolved):
        return ""
    text = str(value)
    return text.strip("/") if field_name in ("key", "prefix") else text


def _describe(identity: tuple[str, ...]) -> str:
    kind, *parts = identity
    fields = IDENTITY_FIELDS.get(kind, ())
    shown = [
        f"{f} {p!r}" if p else f"{f} (unresolved)" for f, p in zip(fields, parts, strict=False)
    ]
    return f"{kind} " + ", ".join(shown)
