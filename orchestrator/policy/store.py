"""Policies in the database: versions, attachment by label, evaluations of runs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import (
    BoundaryFinding,
    Policy,
    PolicyEvaluation,
    PolicyVersion,
    Repository,
    Run,
    RunReview,
    Stack,
    utcnow,
)
from orchestrator.policy import engine
from orchestrator.policy.decide import Attached, PolicyResult
from orchestrator.policy.inputs import Review, RunFacts, run_facts
from orchestrator.repos import run_is_trusted

TYPES = ("plan", "approval", "trigger")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_TYPE_HEADER = re.compile(r"^\s*#\s*type:\s*(\w+)", re.MULTILINE)


@dataclass(frozen=True)
class PolicyRefused:
    status: int
    reason: str


@dataclass(frozen=True)
class PolicyDraft:
    name: str
    type: str | None = None
    body: str | None = None
    attach_labels: tuple[str, ...] | None = None
    parameters: dict[str, Any] | None = None
    builtin: str | None = None


def builtin_names() -> list[str]:
    folder = resources.files("orchestrator.policy") / "builtin"
    return sorted(
        p.name.removesuffix(".rego") for p in folder.iterdir() if p.name.endswith(".rego")
    )


def builtin_body(name: str) -> str | None:
    if name not in builtin_names():
        return None
    return (resources.files("orchestrator.policy") / "builtin" / f"{name}.rego").read_text()


def type_from_header(body: str) -> str | None:
    found = _TYPE_HEADER.search(body)
    return found.group(1).lower() if found else None


def _resolve(draft: PolicyDraft) -> tuple[str, str] | PolicyRefused:
    """(type, body) of a draft: a builtin's body, and its `# type:` header when no type given."""
    body = draft.body
    if draft.builtin is not None:
        body = builtin_body(draft.builtin)
        if body is None:
            known = ", ".join(builtin_names())
            return PolicyRefused(422, f"no built-in policy {draft.builtin!r} (known: {known})")
    if not body or not body.strip():
        return PolicyRefused(422, "a policy needs a Rego body or a built-in name")
    kind = draft.type or type_from_header(body)
    if kind not in TYPES:
        return PolicyRefused(
            422, f"policy type must be one of {', '.join(TYPES)} (or a `# type:` header)"
        )
    return kind, body


def _compiled(name: str, body: str) -> PolicyRefused | None:
    error = engine.check(name, body)
    if error is None:
        return None
    where = f" at line {error.line}" if error.line else ""
    return PolicyRefused(422, f"policy {name!r} does not compile{where}: {error.message}")


def create(session: Session, draft: PolicyDraft, actor: str) -> Policy | PolicyRefused:
    if not _NAME.match(draft.name):
        return PolicyRefused(422, f"policy name {draft.name!r}: letters, digits, . _ - only")
    if session.scalar(select(Policy).where(Policy.name == draft.name)) is not None:
        return PolicyRefused(409, f"a policy named {draft.name!r} exists; PUT updates it")
    resolved = _resolve(draft)
    if isinstance(resolved, PolicyRefused):
        return resolved
    kind, body = resolved
    refused = _compiled(draft.name, body)
    if refused is not None:
        return refused
    policy = Policy(
        name=draft.name,
        type=kind,
        body=body,
        attach_labels=sorted(set(draft.attach_labels or ())),
        parameters=draft.parameters or {},
        builtin=draft.builtin,
        version=1,
        updated_by=actor,
    )
    session.add(policy)
    session.flush()
    _keep_version(session, policy, actor)
    return policy


def update(session: Session, name: str, draft: PolicyDraft, actor: str) -> Policy | PolicyRefused:
    policy = session.scalar(select(Policy).where(Policy.name == name))
    if policy is None:
        return PolicyRefused(404, f"policy {name!r} does not exist")
    new_body = draft.body is not None or draft.builtin is not None
    merged = PolicyDraft(
        name=name,
        type=draft.type or policy.type,
        body=draft.body if new_body else policy.body,
        attach_labels=(
            draft.attach_labels if draft.attach_labels is not None else tuple(policy.attach_labels)
        ),
        parameters=draft.parameters if draft.parameters is not None else policy.parameters,
        builtin=draft.builtin if new_body else policy.builtin,
    )
    resolved = _resolve(merged)
    if isinstance(resolved, PolicyRefused):
        return resolved
    kind, body = resolved
    refused = _compiled(name, body)
    if refused is not None:
        return refused
    policy.type, policy.body = kind, body
    policy.attach_labels = sorted(set(merged.attach_labels or ()))
    policy.parameters = merged.parameters or {}
    policy.builtin = merged.builtin
    policy.version += 1
    policy.updated_by, policy.updated_at = actor, utcnow()
    _keep_version(session, policy, actor)
    return policy


def _keep_version(session: Session, policy: Policy, actor: str) -> None:
    session.add(
        PolicyVersion(
            policy_id=policy.id,
            version=policy.version,
            body=policy.body,
            attach_labels=list(policy.attach_labels),
            parameters=dict(policy.parameters),
            created_by=actor,
        )
    )


def listed(session: Session) -> list[Policy]:
    """Every policy, by name."""
    return list(session.scalars(select(Policy).order_by(Policy.name)))


def named(session: Session, name: str) -> Policy | None:
    return session.scalar(select(Policy).where(Policy.name == name))


def of_type(session: Session, kind: str) -> list[Policy]:
    return list(session.scalars(select(Policy).where(Policy.type == kind).order_by(Policy.name)))


def attaching(candidates: Sequence[Policy], labels: Sequence[str]) -> list[Policy]:
    """The policies that attach to a stack with these labels: no attach_labels = every stack,
    else any label in common."""
    wanted = set(labels)
    return [p for p in candidates if not p.attach_labels or wanted & set(p.attach_labels)]


def attached(session: Session, labels: Sequence[str], kind: str) -> list[Policy]:
    return attaching(of_type(session, kind), labels)


DEFAULT_BOUNDARY = "boundary"


def plan_policies(session: Session, stack: Stack | None) -> list[Policy]:
    """The plan policies of a stack: those attached by label, plus the built-in `boundary`
    for every stack of a repository that declares a hand-off, unless an admin created a
    `boundary` policy of their own (then its labels decide where it applies)."""
    labels = list(stack.labels or []) if stack is not None else []
    chosen = attached(session, labels, "plan")
    if stack is None or not _hands_off(session, stack.repository_id):
        return chosen
    taken = session.scalar(select(Policy.id).where(Policy.builtin == DEFAULT_BOUNDARY).limit(1))
    if taken is not None:
        return chosen
    body = builtin_body(DEFAULT_BOUNDARY)
    assert body is not None
    default = Policy(
        name=f"{DEFAULT_BOUNDARY} (default: the repository hands off to Argo CD)",
        type="plan",
        body=body,
        attach_labels=[],
        parameters={},
        builtin=DEFAULT_BOUNDARY,
        version=0,
    )
    return [*chosen, default]


def _hands_off(session: Session, repository_id: int) -> bool:
    found = session.scalar(
        select(Stack.id)
        .where(
            Stack.repository_id == repository_id,
            Stack.deleted.is_(False),
            Stack.handoff.is_not(None),
        )
        .limit(1)
    )
    return found is not None


def sources(policies: Sequence[Policy]) -> tuple[list[Attached], list[engine.PolicySource]]:
    described = [Attached(p.name, p.version, p.type) for p in policies]
    compiled = [
        engine.PolicySource(p.name, p.body, {"parameters": p.parameters} if p.parameters else {})
        for p in policies
    ]
    return described, compiled


def facts_of(session: Session, run: Run) -> RunFacts:
    stack = session.get(Stack, run.stack_id)
    assert stack is not None
    repository = session.get(Repository, stack.repository_id)
    previous = session.scalar(
        select(Run)
        .where(Run.stack_id == run.stack_id, Run.id < run.id)
        .order_by(Run.id.desc())
        .limit(1)
    )
    return run_facts(
        run,
        stack,
        repository.name if repository else "",
        previous=previous,
        trusted=repository is None or run_is_trusted(session, run),
        boundary=boundary_of(session, stack.id),
    )


def boundary_of(session: Session, stack_id: str) -> list[dict[str, Any]]:
    """`input.stackrun.boundary.findings`: the open findings of Argo CD applications managing
    what this stack's state owns (issue 22), as policies read them."""
    rows = session.scalars(
        select(BoundaryFinding)
        .where(BoundaryFinding.stack_id == stack_id, BoundaryFinding.status == "open")
        .order_by(BoundaryFinding.id)
        .limit(500)
    )
    return [
        {
            "app": row.app,
            "direction": row.direction,
            "address": row.address,
            "identity": row.identity,
            "object": {
                "group": row.group,
                "kind": row.kind,
                "namespace": row.namespace,
                "name": row.name,
            },
            "first_seen": row.first_seen.isoformat(),
        }
        for row in rows
    ]


def reviews_of(session: Session, run_id: int) -> list[Review]:
    rows = session.scalars(
        select(RunReview).where(RunReview.run_id == run_id).order_by(RunReview.id)
    )
    return [Review(r.actor, (r.role,), r.decision, r.at.isoformat(), r.comment) for r in rows]


def record(session: Session, run_id: int, results: Sequence[PolicyResult]) -> None:
    for result in results:
        session.add(
            PolicyEvaluation(
                run_id=run_id,
                policy=result.policy,
                version=result.version,
                type=result.type,
                result=result.result,
                messages=list(result.messages),
                seconds=result.seconds,
            )
        )


def evaluations_of(session: Session, run_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(PolicyEvaluation)
        .where(PolicyEvaluation.run_id == run_id)
        .order_by(PolicyEvaluation.id)
    )
    return [
        {
            "policy": r.policy,
            "version": r.version,
            "type": r.type,
            "result": r.result,
            "messages": r.messages,
            "seconds": r.seconds,
            "at": r.at.isoformat(),
        }
        for r in rows
    ]


def view(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "type": policy.type,
        "version": policy.version,
        "attach_labels": policy.attach_labels,
        "parameters": policy.parameters,
        "builtin": policy.builtin,
        "body": policy.body,
        "updated_by": policy.updated_by,
        "updated_at": policy.updated_at.isoformat(),
    }
