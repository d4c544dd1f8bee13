"""When a pipeline is complete, its hand-off starts: subscribed to the end of every run."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.handoff import service as handoff
from orchestrator.models import Run
from orchestrator.runs.advance import effective
from orchestrator.runs.events import RunEnded
from orchestrator.runs.queue import Doorbell, queue_for
from orchestrator.runstate import RunState


def on_run_ended(session: Session, event: RunEnded) -> list[Doorbell]:
    if event.run.pipeline_id is None:
        return []
    return when_complete(session, event.run.pipeline_id)


def when_complete(session: Session, pipeline_id: int) -> list[Doorbell]:
    """The hand-off of a pipeline whose final stack's tracked run and every other run are
    FINISHED (a run SKIPPED because nothing reached it changed counts as FINISHED; of a stack
    planned again after a lost worker, only the latest attempt counts)."""
    if handoff.final_run(session, pipeline_id) is None:
        return []
    handoff.lock_pipeline(session, pipeline_id)
    final = handoff.final_run(session, pipeline_id)
    if final is None or final.state != RunState.FINISHED:
        return []
    rows = session.execute(
        select(Run.id, Run.stack_id, Run.state)
        .where(Run.pipeline_id == pipeline_id)
        .order_by(Run.id)
    )
    latest = {stack_id: (run_id, RunState(state)) for run_id, stack_id, state in rows}
    states = effective(session, dict(latest.values()))
    if any(state != RunState.FINISHED for state in states.values()):
        return []
    started = handoff.start_once(session, final)
    if started is None:
        return []
    return [Doorbell("handoff", started.id, queue_for(session, final))]
