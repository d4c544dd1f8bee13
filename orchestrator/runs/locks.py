"""The per-stack lock of state-changing runs: taken at claim, given back when a run may free
its stack; the next waiting run is then woken."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from orchestrator import statestore
from orchestrator.models import Run, Stack
from orchestrator.runs.queue import Doorbell, plan_bell
from orchestrator.runstate import RunState


def acquire_stack_lock(session: Session, stack_id: str, run_id: int) -> bool:
    """Take the per-stack lock for a state-changing run; True if this run holds it."""
    result = session.execute(
        update(Stack)
        .where(
            Stack.id == stack_id,
            or_(Stack.locked_by_run_id.is_(None), Stack.locked_by_run_id == run_id),
        )
        .values(locked_by_run_id=run_id)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_stack_lock(session: Session, stack_id: str, run_id: int) -> None:
    session.execute(
        update(Stack)
        .where(Stack.id == stack_id, Stack.locked_by_run_id == run_id)
        .values(locked_by_run_id=None)
    )


def wake_next(session: Session, stack_id: str) -> list[Doorbell]:
    """The bell of the oldest run waiting for a stack that was just freed, if any."""
    waiting = session.scalars(
        select(Run).where(Run.stack_id == stack_id, Run.state == RunState.QUEUED).order_by(Run.id)
    ).first()
    return [plan_bell(session, waiting)] if waiting is not None else []


def free(session: Session, run: Run) -> None:
    """A run that may free its stack (not a lost apply) gives back the stack lock and its
    Terraform state locks. Called before its pipeline advances: the stack row is written
    before the pipeline row is locked, the order every writer uses (runs, stacks, pipelines)."""
    release_stack_lock(session, run.stack_id, run.id)
    statestore.release_locks_of_run(session, run.id)
