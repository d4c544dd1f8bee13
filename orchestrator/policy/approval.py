"""Approval policies: which judge a run, what they read, what they decide, and what a review's
verdict does to the run. The one place they are evaluated: after a plan (no review yet, in the
same child process as the plan policies, gates.py) and on every review (approvals/service.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.models import Run, Stack
from orchestrator.plans import changed_outputs
from orchestrator.policy import decide, engine, inputs
from orchestrator.policy import store as policies
from orchestrator.runstate import APPLYING_KINDS, RunKind, RunState
from orchestrator.settings import get_settings

Item = tuple[engine.PolicySource, Mapping[str, Any]]


@dataclass(frozen=True)
class ApprovalPolicies:
    """The approval policies attached to one stack, as evaluated for its runs."""

    described: tuple[decide.Attached, ...] = ()
    sources: tuple[engine.PolicySource, ...] = ()

    def items(
        self,
        facts: inputs.RunFacts,
        summary: Mapping[str, int] | None,
        reviews: Sequence[inputs.Review],
    ) -> list[Item]:
        """Each policy with the one input they all read (no policy: nothing to evaluate)."""
        if not self.sources:
            return []
        document = inputs.approval_input(facts, summary, reviews)
        return [(source, document) for source in self.sources]

    def verdict(
        self, outcomes: Sequence[engine.Outcome], reviews: Sequence[inputs.Review]
    ) -> decide.Verdict:
        """Their outcomes, in the order of `items`, as one decision (none attached: the
        default rule on the reviews)."""
        return decide.approval_verdict(self.described, outcomes, reviews)


def attached_to(session: Session, stack: Stack | None) -> ApprovalPolicies:
    labels = list(stack.labels or []) if stack is not None else []
    described, sources = policies.sources(policies.attached(session, labels, "approval"))
    return ApprovalPolicies(tuple(described), tuple(sources))


def judges(kind: str, plan_json: Mapping[str, Any], summary: Mapping[str, int]) -> bool:
    """Approval policies only judge a run that could go on to apply: a tracked or destroy run
    whose plan changes something (a proposed or drift run is plan only)."""
    changes = any(summary.values()) or bool(changed_outputs(dict(plan_json)))
    return RunKind(kind) in APPLYING_KINDS and changes


def on_review(session: Session, run: Run) -> decide.Verdict:
    """The approval policies of the run's stack with every review so far."""
    attached = attached_to(session, session.get(Stack, run.stack_id))
    reviews = policies.reviews_of(session, run.id)
    items = attached.items(policies.facts_of(session, run), run.plan_summary, reviews)
    outcomes = engine.evaluate_many(items, get_settings().policy_timeout_seconds)
    return attached.verdict(outcomes, reviews)


def review_outcome(verdict: decide.Verdict) -> tuple[RunState, str] | None:
    """Where a review's verdict takes an UNCONFIRMED run, and why; None: it keeps waiting."""
    said = "; ".join(verdict.messages)
    if verdict.decision == "wait":
        return None
    if verdict.decision == "approve":
        return RunState.CONFIRMED, f"approved: {said}"
    if verdict.decision == "reject":
        return RunState.DISCARDED, f"rejected: {said or 'review'}"
    return RunState.DISCARDED, f"approval policy failed, never applied: {said}"
