"""State identities: the state a stack's backend writes, the state a terraform_remote_state
block reads, and two stacks writing the same state. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.graph.evaluate import REPO_ROOT, Partial, Scope, Unresolved
from orchestrator.graph.model import StackNode
from orchestrator.graph.tree import join

IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "s3": ("bucket", "key"),
    "gcs": ("bucket", "prefix"),
    "azurerm": ("container_name", "key"),
    "pg": ("conn_str", "schema_name"),
    "local": ("path",),
}


@dataclass(frozen=True)
class RemoteRef:
    """A terraform_remote_state block: the state identity it reads, or why it is unknown."""

    file: str
    block: str
    via: str | None
    wanted: tuple[str, ...] | None
    reason: str | None
    pattern: Pattern | None = None


@dataclass(frozen=True)
class Pattern:
    """A state identity with parts known only at deploy time: `wanted` holds `*` for each
    unknown part ("" for a field unknown in full); `why` says why the first one is unknown."""

    field: str
    shown: str
    why: str


def resolve_backend(
    node: StackNode, scope: Scope, backend_files: list[Mapping[str, Any]] | None = None
) -> None:
    """Evaluate the stack's backend settings and set the identity of the state it writes. A
    field a partial backend leaves out is taken from the folder's `-backend-config` files
    (`*.backend`, `*.tfbackend`) when all of them give it the same value."""
    resolved: dict[str, Any] = {}
    for key, value in node.backend_config.items():
        evaluated = scope.evaluate(value)
        resolved[key] = None if isinstance(evaluated, Unresolved | Partial) else evaluated
    node.backend_config = resolved
    completed = {**_agreed(backend_files or []), **{k: v for k, v in resolved.items() if v}}
    if node.backend_type is None:
        node.identity = ("local", join(node.path, "terraform.tfstate"))
        return
    fields = IDENTITY_FIELDS.get(node.backend_type)
    if fields is None:
        return
    if node.backend_type == "local":
        raw = resolved.get("path") or "terraform.tfstate"
        node.identity = ("local", state_path(node.path, str(raw)))
        return
    node.identity = (node.backend_type, *(_normal(f, completed.get(f)) for f in fields))


def _agreed(backend_files: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The settings every backend file of a folder gives the same value."""
    if not backend_files:
        return {}
    first, *others = backend_files
    return {
        key: value
        for key, value in first.items()
        if isinstance(value, str | int) and all(other.get(key) == value for other in others)
    }


def remote_ref(
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
    config = _config(state.get("config"), scope)
    if isinstance(config, str):
        return unresolved(config)
    values = {f: scope.evaluate(config.get(f)) for f in fields}
    key_field = fields[-1]
    key = values[key_field]
    if isinstance(key, Unresolved) or key is None:
        reason = key.reason if isinstance(key, Unresolved) else f"{key_field} is not set"
        return unresolved(f"{key_field} cannot be resolved: {reason}")
    if backend == "local":
        if isinstance(key, Partial):
            return unresolved(f"path {key.pattern!r} is only partly known: {key.reason}")
        return RemoteRef(file, block, via, ("local", state_path(stack_path, str(key))), None)
    wanted = (backend, *(_normal(f, values[f]) for f in fields))
    partial = next(((f, v) for f, v in values.items() if isinstance(v, Partial)), None)
    if partial is None:
        return RemoteRef(file, block, via, wanted, None)
    field_name, value = partial
    shown = _normal(field_name, value)
    return RemoteRef(file, block, via, wanted, None, Pattern(field_name, shown, value.reason))


def _config(raw: Any, scope: Scope) -> dict[str, Any] | str:
    """The config of a terraform_remote_state: the 0.12+ `config = { … }` attribute or the
    Terraform 0.11 `config { … }` block (which hcl2 reads as a list of one body); a str is
    why it cannot be read."""
    if isinstance(raw, list):
        if len(raw) == 1 and isinstance(raw[0], dict):
            return raw[0]
        return f"Terraform 0.11 `config` block is given {len(raw)} times"
    config = scope.evaluate(raw or {})
    if isinstance(config, Unresolved | Partial):
        return f"config cannot be resolved: {config.reason}"
    if not isinstance(config, dict):
        return f"config is {type(config).__name__}, not an object"
    return config


def duplicate_backend_warnings(stacks: Mapping[str, StackNode]) -> list[dict[str, Any]]:
    """A warning for each state written by more than one stack (alternatives a repository
    ships on purpose, environments that differ only in their var files): the graph goes on,
    and a read of that state is unresolved."""
    owners: dict[tuple[str, ...], list[str]] = {}
    for path, node in sorted(stacks.items()):
        if node.identity and all(part for part in node.identity):
            owners.setdefault(node.identity, []).append(path)
    return [
        {
            "kind": "duplicate_backend",
            "file": None,
            "line": None,
            "stacks": paths,
            "message": f"stacks {' and '.join(paths)} write the same state ({describe(identity)})",
        }
        for identity, paths in sorted(owners.items())
        if len(paths) > 1 and not _instances_with_managed_state(stacks, paths)
    ]


def _instances_with_managed_state(stacks: Mapping[str, StackNode], addresses: list[str]) -> bool:
    """The environments' instances of one folder whose state stackrun keeps, apart, per
    instance: their one local path is no conflict."""
    nodes = [stacks[a] for a in addresses]
    return all(n.managed_state and n.path == nodes[0].path for n in nodes)


def state_path(stack_path: str, raw: str) -> str:
    """A local state path: relative to the stack's directory, or to the repository root when
    it was built from path.module."""
    if raw.startswith(REPO_ROOT):
        return join(".", raw[len(REPO_ROOT) :])
    return join(stack_path, raw)


def describe(identity: tuple[str, ...]) -> str:
    kind, *parts = identity
    fields = IDENTITY_FIELDS.get(kind, ())
    shown = [
        f"{f} {p!r}" if p else f"{f} (unresolved)" for f, p in zip(fields, parts, strict=False)
    ]
    return f"{kind} " + ", ".join(shown)


def _normal(field_name: str, value: Any) -> str:
    if value is None or isinstance(value, Unresolved):
        return ""
    text = value.pattern if isinstance(value, Partial) else str(value)
    return text.strip("/") if field_name in ("key", "prefix") else text
