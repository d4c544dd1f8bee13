"""Who may approve a run, and what approving does; refusals on business grounds are data."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orchestrator.auth import Principal, audit
from orchestrator.models import Run
from orchestrator.runs import coordinator, service
from orchestrator.runs.actions import Done, Refusal
from orchestrator.runs.coordinator import Doorbell
from orchestrator.runs.state import Allowed, RunState


def _load(session: Session, run_id: int) -> Run | Refusal:
    run = session.get(Run, run_id, populate_existing=True)
    if run is None:
        return Refusal(404, f"run {run_id} does not exist")
    return run


def approve(session: Session, run_id: int, who: Principal, comment: str = "") -> Done | Refusal:
    if not who.has("approver"):
        return Refusal(403, f"token {who.name!r} has role {who.role}; approving needs approver")
    run = _load(session, run_id)
    if isinstance(run, Refusal):
        return run
    if run.state != RunState.UNCONFIRMED:
        return Refusal(409, f"run {run_id} is {run.state}; only an UNCONFIRMED run can be approved")
    pusher = run.triggered_by.removeprefix("push:")
    if who.vcs_login and who.vcs_login.casefold() == pusher.casefold():
        return Refusal(
            403, f"{who.vcs_login} pushed commit {run.commit_sha[:12]} and cannot approve its run"
        )
    decision = service.transition(
        session,
        run_id,
        RunState.CONFIRMED,
        actor=who.name,
        reason=comment or "approved",
        expect=RunState.UNCONFIRMED,
    )
    if not isinstance(decision, Allowed):
        return Refusal(409, decision.reason)
    audit(session, who.name, "run.approve", f"run:{run_id}", {"comment": comment})
    stack_queue = coordinator.queue_for(session, run)
    return Done(run_id, RunState.CONFIRMED, (Doorbell("apply_run", run_id, stack_queue),))
