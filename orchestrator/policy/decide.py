"""From policy outcomes to one decision per run. Pure; a policy that errs never lets a run
through: it denies a plan, discards an approval, and turns a push into a plan-only run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.policy.engine import Evaluated, Outcome, PolicyError
from orchestrator.policy.inputs import Review

APPROVER_ROLES = frozenset({"approver", "admin"})


@dataclass(frozen=True)
class Attached:
    """A policy as evaluated for a run: which version, of which type."""

    name: str
    version: int
    type: str


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    version: int
    type: str
    result: str
    messages: tuple[str, ...]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "version": self.version,
            "type": self.type,
            "result": self.result,
            "messages": list(self.messages),
            "seconds": round(self.seconds, 4),
        }


@dataclass(frozen=True)
class Verdict:
    """`decision` is one of: plan → allow | warn | deny; approval → approve | reject | wait |
    error; trigger → run | ignore | propose."""

    decision: str
    messages: tuple[str, ...] = ()
    results: tuple[PolicyResult, ...] = field(default_factory=tuple)


def _result(
    attached: Attached, outcome: Outcome, result: str, messages: Sequence[str]
) -> PolicyResult:
    return PolicyResult(
        attached.name, attached.version, attached.type, result, tuple(messages), outcome.seconds
    )


def _error_text(error: PolicyError) -> str:
    return f"policy {error}"


def plan_verdict(attached: Sequence[Attached], outcomes: Sequence[Outcome]) -> Verdict:
    results: list[PolicyResult] = []
    denies: list[str] = []
    warns: list[str] = []
    for policy, outcome in zip(attached, outcomes, strict=True):
        if isinstance(outcome, PolicyError):
            denies.append(_error_text(outcome))
            results.append(_result(policy, outcome, "error", [outcome.message]))
            continue
        deny = [str(m) for m in outcome.rules.get("deny") or []]
        warn = [str(m) for m in outcome.rules.get("warn") or []]
        denies += [f"{policy.name}: {m}" for m in deny]
        warns += [f"{policy.name}: {m}" for m in warn]
        result = "deny" if deny else "warn" if warn else "allow"
        results.append(_result(policy, outcome, result, deny + warn))
    decision = "deny" if denies else "warn" if warns else "allow"
    return Verdict(decision, tuple(denies or warns), tuple(results))


def default_approval(reviews: Sequence[Review]) -> str:
    """With no approval policy: one rejection by an approver rejects, one approval approves."""
    if any(r.decision == "reject" and APPROVER_ROLES & set(r.roles) for r in reviews):
        return "reject"
    if any(r.decision == "approve" and APPROVER_ROLES & set(r.roles) for r in reviews):
        return "approve"
    return "wait"


def approval_verdict(
    attached: Sequence[Attached], outcomes: Sequence[Outcome], reviews: Sequence[Review]
) -> Verdict:
    """Any reject rejects; every policy must approve; an error decides nothing but `error`."""
    if not attached:
        decision = default_approval(reviews)
        note = "default approval: one approval by an approver"
        return Verdict(decision, (note,) if decision != "wait" else ())
    results: list[PolicyResult] = []
    errors: list[str] = []
    rejects: list[str] = []
    approvals = 0
    for policy, outcome in zip(attached, outcomes, strict=True):
        if isinstance(outcome, PolicyError):
            errors.append(_error_text(outcome))
            results.append(_result(policy, outcome, "error", [outcome.message]))
            continue
        result = _approval_result(outcome)
        if result == "reject":
            rejects.append(f"{policy.name} rejects")
        approvals += result == "approve"
        results.append(_result(policy, outcome, result, []))
    if errors:
        return Verdict("error", tuple(errors), tuple(results))
    if rejects:
        return Verdict("reject", tuple(rejects), tuple(results))
    if approvals == len(attached):
        return Verdict("approve", ("approved by every approval policy",), tuple(results))
    return Verdict("wait", (), tuple(results))


def _approval_result(outcome: Evaluated) -> str:
    if outcome.rules.get("reject") is True:
        return "reject"
    if outcome.rules.get("approve") is True:
        return "approve"
    return "wait"


def trigger_verdict(attached: Sequence[Attached], outcomes: Sequence[Outcome]) -> Verdict:
    results: list[PolicyResult] = []
    errors: list[str] = []
    ignore = propose = False
    for policy, outcome in zip(attached, outcomes, strict=True):
        if isinstance(outcome, PolicyError):
            errors.append(_error_text(outcome))
            results.append(_result(policy, outcome, "error", [outcome.message]))
            continue
        wants_ignore = outcome.rules.get("ignore") is True
        wants_propose = outcome.rules.get("propose") is True
        ignore |= wants_ignore
        propose |= wants_propose
        result = "ignore" if wants_ignore else "propose" if wants_propose else "run"
        results.append(_result(policy, outcome, result, []))
    if errors:
        return Verdict("propose", tuple(errors), tuple(results))
    if ignore:
        return Verdict("ignore", ("ignored by a trigger policy",), tuple(results))
    if propose:
        return Verdict("propose", ("plan only: a trigger policy asks to propose",), tuple(results))
    return Verdict("run", (), tuple(results))
