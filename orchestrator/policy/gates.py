"""Policy decision points of a run outside the API: after PLANNING, and per stack on a push.
No policy attached → no child process, no cost."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.db import session_scope
from orchestrator.models import Run, Stack
from orchestrator.policy import approval, decide, engine, inputs
from orchestrator.policy import store as policies
from orchestrator.runstate import RunKind
from orchestrator.settings import get_settings


@dataclass(frozen=True)
class PlanGate:
    plan: decide.Verdict
    approval: decide.Verdict | None

    @property
    def denied_reason(self) -> str | None:
        """Why the run must fail: a plan policy denied, or an approval policy rejected/erred."""
        if self.plan.decision == "deny":
            return "plan policy denied: " + "; ".join(self.plan.messages)
        if self.approval is not None and self.approval.decision == "reject":
            return "approval policy rejected the plan: " + "; ".join(self.approval.messages)
        if self.approval is not None and self.approval.decision == "error":
            return "approval policy failed, never applied: " + "; ".join(self.approval.messages)
        return None


def after_plan(run_id: int, plan_json: Mapping[str, Any], summary: Mapping[str, int]) -> PlanGate:
    """Plan policies, then (for a plan they allow, of a run that may apply) the approval
    policies with no review yet. A drift check only records what drifted: its reconcile run
    is the one policies judge."""
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        if run.kind == RunKind.DRIFT:
            return PlanGate(decide.Verdict("allow"), None)
        stack = session.get(Stack, run.stack_id)
        plan_described, plan_sources = policies.sources(policies.plan_policies(session, stack))
        approvals = (
            approval.attached_to(session, stack)
            if approval.judges(run.kind, plan_json, summary)
            else approval.ApprovalPolicies()
        )
        if not plan_sources and not approvals.sources:
            return PlanGate(decide.Verdict("allow"), None)
        facts = policies.facts_of(session, run)
    items: list[approval.Item] = []
    if plan_sources:
        plan_document = inputs.plan_input(facts, plan_json)
        items += [(s, plan_document) for s in plan_sources]
    items += approvals.items(facts, summary, [])
    outcomes = engine.evaluate_many(items, get_settings().policy_timeout_seconds)
    plan_verdict = decide.plan_verdict(plan_described, outcomes[: len(plan_sources)])
    approved = None
    if approvals.described and plan_verdict.decision != "deny":
        approved = approvals.verdict(outcomes[len(plan_sources) :], [])
    with session_scope() as session:
        policies.record(session, run_id, plan_verdict.results)
        if approved is not None:
            policies.record(session, run_id, approved.results)
    return PlanGate(plan_verdict, approved)


def on_push(
    session: Session,
    facts_by_path: Mapping[str, tuple[inputs.RunFacts, str]],
    changed: Sequence[str],
) -> dict[str, decide.Verdict]:
    """Trigger policies for each affected stack: path → run | ignore | propose."""
    candidates = policies.of_type(session, "trigger")
    if not candidates:
        return {path: decide.Verdict("run") for path in facts_by_path}
    items: list[tuple[engine.PolicySource, Mapping[str, Any]]] = []
    plan: list[tuple[str, list[decide.Attached]]] = []
    for path, (facts, reason) in facts_by_path.items():
        described, sources = policies.sources(policies.attaching(candidates, facts.labels))
        document = inputs.trigger_input(facts, changed, reason)
        items += [(s, document) for s in sources]
        plan.append((path, described))
    outcomes = engine.evaluate_many(items, get_settings().policy_timeout_seconds)
    verdicts: dict[str, decide.Verdict] = {}
    position = 0
    for path, described in plan:
        mine = outcomes[position : position + len(described)]
        position += len(described)
        verdicts[path] = decide.trigger_verdict(described, mine)
    return verdicts
