"""What one stack says on its own: its node, the state its backend writes, the remote states
its root module and local modules read. Remembered across builds while none of the folders it
read has changed (a push usually changes a few files of a large tree). Pure."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from orchestrator.graph import backends, scopes
from orchestrator.graph.backends import RemoteRef
from orchestrator.graph.environments import Environment, merged_backend_settings
from orchestrator.graph.evaluate import Argument, Scope
from orchestrator.graph.facts import Facts
from orchestrator.graph.model import StackNode
from orchestrator.graph.stacks import stack_node
from orchestrator.graph.tree import Tree, directory, is_local, join

_MAX_MODULE_DEPTH = 16
# Module calls can fan out at every level (10 calls of a module that makes 10 calls…): past
# this many module instances in one stack the graph stops and the stack is blocked.
MAX_MODULE_INSTANCES = 10_000


@dataclass
class Analysis:
    node: StackNode
    refs: list[RemoteRef]
    fingerprint: dict[str, tuple[Facts, ...]]  # holds the objects, so their ids stay theirs
    fingerprint_ids: dict[str, tuple[int, ...]]


# Keyed by the identity of the facts objects of the stack's own folder: the entry holds those
# objects, so their ids cannot be reused while it lives.
_MEMO: OrderedDict[tuple[str, bool, tuple[int, ...], int, Environment | None], Analysis] = (
    OrderedDict()
)
_MEMO_SIZE = 50_000


def analysis(
    tree: Tree, folder: str, is_module_source: bool, environment: Environment | None = None
) -> Analysis | None:
    """The analysis of the stack at `folder`, or of its instance in `environment` (None when
    the folder is not a stack); reused from an earlier build while none of the folders it
    read has changed."""
    memo_key = (folder, is_module_source, tree.fingerprint_ids[folder], tree.links_key, environment)
    cached = _MEMO.get(memo_key)
    if cached is not None and _unchanged(tree, cached.fingerprint_ids):
        _MEMO.move_to_end(memo_key)
        return cached
    node = stack_node(tree, folder, is_module_source)
    if node is None:
        return None
    if environment is None:
        root = scopes.root_scope(tree, folder)
        backend_files = [
            f["backend_config"]
            for f in tree.by_dir.get(folder, {}).values()
            if "backend_config" in f
        ]
    else:
        _instance(node, environment)
        root = scopes.root_scope(tree, folder, environment.var_files)
        backend_files = [merged_backend_settings(tree, environment)]
    backends.resolve_backend(node, root, backend_files)
    if environment is not None:  # what Terraform is given: the block, then the files over it
        node.backend_config = {**node.backend_config, **backend_files[0]}
    refs = _remote_refs(tree, node, root)
    # the module folders called, found or not: one that appears later changes what is read
    visited = {folder, *node.module_dirs, *node.module_targets}
    if environment is not None:
        visited.update(directory(p) for p in (*environment.var_files, *environment.backend_files))
    fingerprint = {d: tree.fingerprints.get(d, ()) for d in visited}
    fingerprint_ids = {d: tree.fingerprint_ids.get(d, ()) for d in visited}
    found = Analysis(node, refs, fingerprint, fingerprint_ids)
    _MEMO[memo_key] = found
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return found


def _instance(node: StackNode, environment: Environment) -> None:
    """The folder's stack made its instance in `environment`."""
    node.environment = environment.name
    node.name = f"{node.name}@{environment.name}"
    node.backend_files = list(environment.backend_files)
    node.var_files = list(environment.var_files)


def _unchanged(tree: Tree, fingerprint_ids: Mapping[str, tuple[int, ...]]) -> bool:
    """Every folder the analysis read still holds the very same facts objects (compared by
    id: the analysis holds the objects it read, so no other object can have their ids)."""
    now = tree.fingerprint_ids
    return all(now.get(folder, ()) == ids for folder, ids in fingerprint_ids.items())


def _remote_refs(tree: Tree, stack: StackNode, root: Scope) -> list[RemoteRef]:
    refs: list[RemoteRef] = []
    instances = _module_instances(tree, stack.path, root, stack.module_targets)
    for count, (folder, scope, via) in enumerate(instances, start=1):
        if count > MAX_MODULE_INSTANCES:
            stack.module_overflow = (
                f"{stack.path}: its local module calls make more than "
                f"{MAX_MODULE_INSTANCES} module instances; the graph stopped there"
            )
            break
        if folder != stack.path:
            stack.module_dirs.add(folder)
        for path, file_facts in tree.tf_facts(folder):
            for state in file_facts.get("remote_states") or []:
                block = f"data.terraform_remote_state.{state['name']}"
                refs.append(backends.remote_ref(stack.path, path, block, via, state, scope))
    return refs


def _module_instances(
    tree: Tree, stack_path: str, root: Scope, targets: set[str]
) -> Iterator[tuple[str, Scope, str | None]]:
    """The stack's root module, then every local module it calls, breadth first; the
    folder of every local module call goes into `targets`, found or not."""
    pending: deque[tuple[str, Scope, str | None, int, tuple[str, ...]]] = deque(
        [(stack_path, root, None, 0, (stack_path,))]
    )
    while pending:
        folder, scope, via, depth, chain = pending.popleft()
        yield folder, scope, via
        if depth >= _MAX_MODULE_DEPTH:
            continue
        for _, file_facts in tree.tf_facts(folder):
            for module in file_facts.get("modules") or []:
                source = module.get("source")
                if not is_local(source):
                    continue
                target = tree.through_links(join(folder, str(source)))
                targets.add(target)
                if target in chain or target not in tree.by_dir:
                    continue
                arguments = {k: Argument(v, scope) for k, v in (module["args"] or {}).items()}
                name = f"module.{module['name']}"
                call = f"{via}.{name}" if via else name
                callee = scopes.scope(tree, target, arguments)
                pending.append((target, callee, call, depth + 1, (*chain, target)))
