"""State identities: the state a stack's backend writes, the state a terraform_remote_state
block reads, and two stacks writing the same state. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.graph.evaluate import REPO_ROOT, Scope, Unresolved
from orchestrator.graph.model import StackNode
from orchestrator.graph.tree import join

IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "s3": ("bucket", "key"),
    "gcs": ("bucket", "prefix"),
    "azurerm": ("container_name", "key"),
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


def resolve_backend(node: StackNode, scope: Scope) -> None:
    """Evaluate the stack's backend settings and set the identity of the state it writes."""
    resolved: dict[str, Any] = {}
    for key, value in node.backend_config.items():
        evaluated = scope.evaluate(value)
        resolved[key] = None if isinstance(evaluated, Unresolved) else evaluated
    node.backend_config = resolved
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
    node.identity = (node.backend_type, *(_normal(f, resolved.get(f)) for f in fields))


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
        return RemoteRef(file, block, via, ("local", state_path(stack_path, str(key))), None)
    wanted = (backend, *(_normal(f, values[f]) for f in fields))
    return RemoteRef(file, block, via, wanted, None)


def duplicate_backend_warnings(stacks: Mapping[str, StackNode]) -> list[dict[str, Any]]:
    """A warning for each state written by more than one stack (alternatives a repository
    ships on purpose): the graph goes on, and a read of that state is unresolved."""
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
        if len(paths) > 1
    ]


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
    text = str(value)
    return text.strip("/") if field_name in ("key", "prefix") else text
