"""A pipeline goes on: runs behind a failure are SKIPPED, the eligible ones are rung, and
every way a run ends says so (`ended`); freeing the stack is a separate step (`locks`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import Run, RunTransition, Stack
from orchestrator.runs import events, locks, pipeline, service
from orchestrator.runs.queue import Doorbell, plan_bell
from orchestrator.runstate import RunState

INPUTS_UNCHANGED = "inputs unchanged"


def effective(session: Session, states: dict[int, RunState]) -> dict[int, RunState]:
    """A run SKIPPED because nothing reached it changed counts as FINISHED for its
    downstreams; a run SKIPPED behind a failure still blocks them."""
    skipped = [i for i, s in states.items() if s == RunState.SKIPPED]
    if not skipped:
        return states
    unchanged = set(
        session.scalars(
            select(RunTransition.run_id).where(
                RunTransition.run_id.in_(skipped),
                RunTransition.to_state == RunState.SKIPPED,
                RunTransition.reason.startswith(INPUTS_UNCHANGED),
            )
        )
    )
    return {i: RunState.FINISHED if i in unchanged else s for i, s in states.items()}


def upstream_states(session: Session, run: Run) -> dict[int, RunState]:
    ids = [int(i) for i in run.upstream_run_ids or []]
    if not ids:
        return {}
    rows = session.execute(select(Run.id, Run.state).where(Run.id.in_(ids)))
    return effective(session, {row_id: RunState(state) for row_id, state in rows})


def upstreams_done(session: Session, run: Run) -> bool:
    return pipeline.is_eligible(upstream_states(session, run), run.upstream_run_ids)


def advance_pipeline(session: Session, pipeline_id: int) -> list[Doorbell]:
    """Skip runs behind a failed upstream (to a fixed point) and ring the eligible ones."""
    while True:
        runs = list(session.scalars(select(Run).where(Run.pipeline_id == pipeline_id)))
        states = effective(session, {r.id: RunState(r.state) for r in runs})
        upstreams = {r.id: [int(u) for u in r.upstream_run_ids or []] for r in runs}
        step = pipeline.advance(states, upstreams)
        if not step.skipped:
            break
        for run_id, reason in step.skipped:
            service.transition(session, run_id, RunState.SKIPPED, actor="pipeline", reason=reason)
    by_id = {r.id: r for r in runs}
    return [plan_bell(session, by_id[i]) for i in step.eligible]


def ended(session: Session, run: Run) -> list[Doorbell]:
    """A run became terminal: advance its pipeline, then tell the subscribers (a drift check's
    end, the hand-off of a complete pipeline). Frees nothing: a lost apply keeps its stack
    locked until an admin unlocks it."""
    bells = advance_pipeline(session, run.pipeline_id) if run.pipeline_id is not None else []
    return bells + events.publish(session, events.RunEnded(run))


def finished(session: Session, run: Run) -> list[Doorbell]:
    """A run became terminal and may free its stack: `locks.free`, then `ended`, then the
    stack's next run is woken (doorbells: the pipeline's, the hand-off's, the next run's)."""
    locks.free(session, run)
    return ended(session, run) + locks.wake_next(session, run.stack_id)


def claimable_now(session: Session, run: Run) -> bool:
    """A queued run worth a new doorbell: its upstreams are done and its stack is free (a run
    waiting on either is rung by whatever ends first)."""
    if not upstreams_done(session, run):
        return False
    stack = session.get(Stack, run.stack_id)
    return stack is None or stack.locked_by_run_id in (None, run.id)
