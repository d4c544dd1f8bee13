"""Reviews of UNCONFIRMED runs: who may review (nobody approves a commit they had a hand in,
approvals/hands.py), what the approval policies decide; refusals on business grounds are data.
`who` is a principal the caller has already authorized as an approver (api/deps.authorized)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.approvals import hands
from orchestrator.auth import Principal, audit
from orchestrator.models import Event, Run, RunReview, Stack, Token
from orchestrator.policy import approval, decide
from orchestrator.policy import store as policies
from orchestrator.runs import advance, service
from orchestrator.runs.actions import Done, Refusal
from orchestrator.runs.queue import apply_bell
from orchestrator.runstate import Allowed, RunState
from orchestrator.webhooks import github

# Logins a provider's stored delivery adds to its `pusher` column (GitLab's has no more).
_DELIVERY_LOGINS = {"github": github.commit_logins}


def approve(session: Session, run_id: int, who: Principal, comment: str = "") -> Done | Refusal:
    return review(session, run_id, who, "approve", comment)


def reject(session: Session, run_id: int, who: Principal, comment: str = "") -> Done | Refusal:
    return review(session, run_id, who, "reject", comment)


def _reviewable(session: Session, run_id: int, who: Principal, decision: str) -> Run | Refusal:
    run = session.get(Run, run_id, populate_existing=True, with_for_update=True)
    if run is None:
        return Refusal(404, f"run {run_id} does not exist")
    if run.state != RunState.UNCONFIRMED:
        return Refusal(409, f"run {run_id} is {run.state}; only an UNCONFIRMED run can be reviewed")
    if decision == "approve":
        refused = hands.refusal(who, run.commit_sha, run_id, hands_on(session, run))
        if refused is not None:
            return Refusal(403, refused)
    earlier = session.scalar(
        select(RunReview).where(
            RunReview.run_id == run_id,
            RunReview.actor == who.name,
            RunReview.decision == decision,
        )
    )
    if earlier is not None:
        return Refusal(409, f"{who.name} already gave run {run_id} a review of {decision}")
    return run


def hands_on(session: Session, run: Run) -> list[hands.Hand]:
    """Everyone stackrun saw trigger, push or author the run's commit in its repository: every
    run of the commit there, and every stored delivery there whose head is the commit."""
    stack = session.get(Stack, run.stack_id)
    assert stack is not None
    runs = session.execute(
        select(Run.id, Run.triggered_by, Run.commit_author)
        .join(Stack, Stack.id == Run.stack_id)
        .where(Stack.repository_id == stack.repository_id, Run.commit_sha == run.commit_sha)
        .order_by(Run.id)
    ).all()
    names = {name for r in runs if (name := hands.token_of(r.triggered_by))}
    logins_of: dict[str, str | None] = {}
    if names:
        rows = session.execute(select(Token.name, Token.vcs_login).where(Token.name.in_(names)))
        logins_of = {name: login for name, login in rows}
    found = [
        h for r in runs for h in hands.from_run(r.id, r.triggered_by, r.commit_author, logins_of)
    ]
    deliveries = session.scalars(
        select(Event)
        .where(Event.repository_id == stack.repository_id, Event.after_sha == run.commit_sha)
        .order_by(Event.id)
    )
    for event in deliveries:
        named = _DELIVERY_LOGINS.get(event.provider)
        extra = named(event.payload, run.commit_sha) if named else ()
        found += hands.from_delivery(event.delivery_id, event.event_type, (event.pusher, *extra))
    return found


def review(
    session: Session, run_id: int, who: Principal, decision: str, comment: str = ""
) -> Done | Refusal:
    """Record the review, then let the approval policies (or the default rule) decide."""
    run = _reviewable(session, run_id, who, decision)
    if isinstance(run, Refusal):
        return run
    session.add(
        RunReview(run_id=run_id, decision=decision, actor=who.name, role=who.role, comment=comment)
    )
    session.flush()
    audit(session, who.name, f"run.{decision}", f"run:{run_id}", {"comment": comment})
    verdict = approval.on_review(session, run)
    policies.record(session, run_id, verdict.results)
    return _apply_verdict(session, run, verdict, who)


def _apply_verdict(
    session: Session, run: Run, verdict: decide.Verdict, who: Principal
) -> Done | Refusal:
    outcome = approval.review_outcome(verdict)
    if outcome is None:
        return Done(run.id, RunState.UNCONFIRMED)
    target, reason = outcome
    decision = service.transition(
        session, run.id, target, actor=who.name, reason=reason, expect=RunState.UNCONFIRMED
    )
    if not isinstance(decision, Allowed):
        return Refusal(409, decision.reason)
    if target == RunState.CONFIRMED:
        return Done(run.id, target, (apply_bell(session, run),))
    return Done(run.id, target, tuple(advance.finished(session, run)))
