"""What a person may do to a hand-off: retry it (admin only, audited)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orchestrator.auth import Principal, audit
from orchestrator.handoff import service as handoff
from orchestrator.models import Run
from orchestrator.runs.actions import Done, Refusal
from orchestrator.runs.queue import Doorbell, queue_for
from orchestrator.runstate import RunState


def retry_handoff(session: Session, pipeline_id: int, who: Principal) -> Done | Refusal:
    """A new hand-off attempt for a pipeline (the route lets admins only), audited. Done carries
    its run."""
    started = handoff.retry(session, pipeline_id, who.name)
    if isinstance(started, handoff.Refused):
        return Refusal(started.status, started.reason)
    audit(
        session,
        who.name,
        "handoff.retry",
        f"pipeline:{pipeline_id}",
        {"handoff": started.id, "run": started.run_id},
    )
    run = session.get(Run, started.run_id)
    assert run is not None
    bell = Doorbell("handoff", started.id, queue_for(session, run))
    return Done(started.run_id, RunState(run.state), (bell,))
