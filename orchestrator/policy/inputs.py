"""The documents policies read (DESIGN §5). Pure: plain data in, plain data out.

Field names follow Spacelift's where they mean the same thing. `input.spacelift` carries, with
Spacelift's names: `run.{id, type, state, triggered_by, commit.{hash, author, message,
branch}, changes[].{action, phase, entity.{address, name, type, entity_type, data}}}`,
`stack.{id, name, labels, autodeploy, branch, repository, project_root, worker_pool}` and
`commit.{hash, author, message, branch}`. Other Spacelift fields are absent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

_SPACELIFT_ACTIONS = {
    ("create",): "added",
    ("update",): "changed",
    ("delete",): "deleted",
    ("delete", "create"): "replaced",
    ("create", "delete"): "replaced",
    ("read",): "read",
    ("no-op",): "no-op",
}


@dataclass(frozen=True)
class RunFacts:
    """What a policy may know of a run and its stack."""

    run_id: int
    kind: str
    state: str
    commit_sha: str
    commit_author: str
    commit_message: str
    branch: str
    triggered_by: str
    stack_id: str
    stack_name: str
    stack_path: str
    labels: tuple[str, ...]
    autodeploy: bool
    repository: str
    worker_pool: str
    environment: str | None = None
    previous_run: Mapping[str, Any] | None = None
    trusted: bool = True
    boundary: tuple[Mapping[str, Any], ...] = ()


class RunRow(Protocol):
    """What the facts read of a run: a `Run` row, or a `PlannedRun`."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def commit_sha(self) -> str: ...
    @property
    def commit_author(self) -> str: ...
    @property
    def commit_message(self) -> str: ...
    @property
    def branch(self) -> str: ...
    @property
    def triggered_by(self) -> str: ...


class StackRow(Protocol):
    """What the facts read of a stack: a `Stack` row, or any object with these fields."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def labels(self) -> Sequence[str] | None: ...
    @property
    def autodeploy(self) -> bool: ...
    @property
    def worker_pool(self) -> str: ...
    @property
    def environment(self) -> str | None: ...


@dataclass(frozen=True)
class PlannedRun:
    """A run that does not exist yet (a push's trigger policies judge it before it is created):
    id 0, QUEUED unless told otherwise."""

    kind: str
    commit_sha: str
    commit_author: str
    commit_message: str
    branch: str
    triggered_by: str
    state: str = "QUEUED"
    id: int = 0


def run_facts(
    run: RunRow,
    stack: StackRow,
    repository: str,
    *,
    previous: RunRow | None = None,
    trusted: bool = True,
    boundary: Sequence[Mapping[str, Any]] = (),
) -> RunFacts:
    """The one way to assemble RunFacts: a run (or a planned one), its stack, the name of its
    repository, the stack's run before it and whether the run is trusted (runs/trust.py)."""
    return RunFacts(
        run_id=run.id,
        kind=run.kind,
        state=run.state,
        commit_sha=run.commit_sha,
        commit_author=run.commit_author,
        commit_message=run.commit_message,
        branch=run.branch,
        triggered_by=run.triggered_by,
        stack_id=stack.id,
        stack_name=stack.name,
        stack_path=stack.path,
        labels=tuple(stack.labels or ()),
        autodeploy=stack.autodeploy,
        repository=repository,
        worker_pool=stack.worker_pool,
        environment=stack.environment,
        previous_run=_previous_run(previous),
        trusted=trusted,
        boundary=tuple(boundary),
    )


def _previous_run(run: RunRow | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {"id": run.id, "kind": run.kind, "state": run.state, "commit": {"sha": run.commit_sha}}


def fingerprint(value: Any) -> str:
    """What a policy sees instead of a sensitive value: `sha256:<last 16 hex>`."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    return f"sha256:{digest[-16:]}"


def mask(value: Any, sensitive: Any) -> Any:
    """Replace every part of `value` that Terraform's `*_sensitive` mirror marks true."""
    if sensitive is True:
        return None if value is None else fingerprint(value)
    if isinstance(value, dict) and isinstance(sensitive, dict):
        return {k: mask(v, sensitive.get(k, False)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(sensitive, list):
        return [mask(v, sensitive[i] if i < len(sensitive) else False) for i, v in enumerate(value)]
    return value


def masked_plan(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The plan document with sensitive values of resources, outputs and variables masked."""
    document = dict(plan)
    document["resource_changes"] = [_masked_change(rc) for rc in plan.get("resource_changes", [])]
    document["output_changes"] = {
        name: _masked_change_body(change)
        for name, change in (plan.get("output_changes") or {}).items()
    }
    document.pop("prior_state", None)
    document.pop("planned_values", None)
    variables = plan.get("variables") or {}
    sensitive_vars = _sensitive_variables(plan)
    document["variables"] = {
        name: {"value": fingerprint(v.get("value"))} if name in sensitive_vars else v
        for name, v in variables.items()
    }
    return document


def _sensitive_variables(plan: Mapping[str, Any]) -> set[str]:
    declared = ((plan.get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    return {name for name, spec in declared.items() if (spec or {}).get("sensitive")}


def _masked_change(resource_change: Mapping[str, Any]) -> dict[str, Any]:
    masked = dict(resource_change)
    masked["change"] = _masked_change_body(resource_change.get("change") or {})
    return masked


def _masked_change_body(change: Mapping[str, Any]) -> dict[str, Any]:
    body = dict(change)
    if "before" in body:
        body["before"] = mask(body["before"], change.get("before_sensitive", False))
    if "after" in body:
        body["after"] = mask(body["after"], change.get("after_sensitive", False))
    return body


def stackrun_view(facts: RunFacts) -> dict[str, Any]:
    return {
        "run": {
            "id": facts.run_id,
            "kind": facts.kind,
            "state": facts.state,
            "commit": {
                "sha": facts.commit_sha,
                "author": facts.commit_author,
                "message": facts.commit_message,
                "branch": facts.branch,
            },
            "triggered_by": facts.triggered_by,
            "trusted": facts.trusted,
        },
        "stack": {
            "id": facts.stack_id,
            "name": facts.stack_name,
            "path": facts.stack_path,
            "environment": facts.environment,
            "labels": list(facts.labels),
            "autodeploy": facts.autodeploy,
            "repository": facts.repository,
            "worker_pool": facts.worker_pool,
        },
        "previous_run": dict(facts.previous_run) if facts.previous_run else None,
        "boundary": {"findings": [dict(f) for f in facts.boundary]},
    }


def spacelift_changes(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    changes = []
    for rc in plan.get("resource_changes", []):
        actions = tuple((rc.get("change") or {}).get("actions") or ())
        action = _SPACELIFT_ACTIONS.get(actions, "-".join(actions))
        if action in ("no-op", "read"):
            continue
        changes.append(
            {
                "action": action,
                "phase": "plan",
                "entity": {
                    "address": rc.get("address"),
                    "name": rc.get("name"),
                    "type": rc.get("type"),
                    "entity_type": "resource" if rc.get("mode", "managed") == "managed" else "data",
                    "data": (rc.get("change") or {}).get("after"),
                },
            }
        )
    return changes


def spacelift_view(facts: RunFacts, plan: Mapping[str, Any] | None) -> dict[str, Any]:
    commit = {
        "hash": facts.commit_sha,
        "author": facts.commit_author,
        "message": facts.commit_message,
        "branch": facts.branch,
    }
    return {
        "commit": commit,
        "run": {
            "id": str(facts.run_id),
            "type": facts.kind,
            "state": facts.state,
            "triggered_by": facts.triggered_by,
            "commit": commit,
            "changes": spacelift_changes(plan) if plan is not None else [],
        },
        "stack": {
            "id": facts.stack_id,
            "name": facts.stack_name,
            "labels": list(facts.labels),
            "autodeploy": facts.autodeploy,
            "branch": facts.branch,
            "repository": facts.repository,
            "project_root": "" if facts.stack_path == "." else facts.stack_path,
            "worker_pool": facts.worker_pool,
        },
    }


def plan_input(facts: RunFacts, plan: Mapping[str, Any]) -> dict[str, Any]:
    masked = masked_plan(plan)
    return {
        "terraform": masked,
        "stackrun": stackrun_view(facts),
        "spacelift": spacelift_view(facts, masked),
    }


@dataclass(frozen=True)
class Review:
    user: str
    roles: tuple[str, ...]
    decision: str
    at: str
    comment: str = ""


def approval_input(
    facts: RunFacts, summary: Mapping[str, int] | None, reviews: Sequence[Review]
) -> dict[str, Any]:
    def listed(decision: str) -> list[dict[str, Any]]:
        return [
            {"user": r.user, "roles": list(r.roles), "at": r.at, "comment": r.comment}
            for r in reviews
            if r.decision == decision
        ]

    return {
        "reviews": {"approvals": listed("approve"), "rejections": listed("reject")},
        "plan": {k: int((summary or {}).get(k, 0)) for k in ("add", "change", "destroy")},
        "stackrun": stackrun_view(facts),
        "spacelift": spacelift_view(facts, None),
    }


def trigger_input(facts: RunFacts, changed_paths: Sequence[str], reason: str) -> dict[str, Any]:
    return {
        "push": {"changed_paths": list(changed_paths), "reason": reason},
        "stackrun": stackrun_view(facts),
        "spacelift": spacelift_view(facts, None),
    }
