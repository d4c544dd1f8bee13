"""Drift runs created when their start comes: a tick only claims checks; the runs are created
by their second's batch, once however often it comes, and a batch that never came is made up
by a later tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orchestrator.drift import dispatch
from orchestrator.drift import service as drift
from orchestrator.models import DriftCheck, Run, RunTransition, StackOutputs
from tests.unit.rows import add_stack

TICK = datetime(2026, 11, 28, 12, 0, 30, tzinfo=UTC)


def _applied_stack(db: Session) -> str:
    stack = add_stack(db, drift_schedules=["0 * * * *"])
    db.add(
        StackOutputs(stack_id=stack.id, run_id=1, commit_sha="c" * 40, plain={}, sensitive_names=[])
    )
    db.flush()
    return stack.id


def _runs(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Run)) or 0)


def _run_of_check(db: Session, check_id: int) -> int | None:
    return db.scalar(select(DriftCheck.run_id).where(DriftCheck.id == check_id))


def test_a_tick_claims_a_check_and_its_batch_creates_its_run(db: Session) -> None:
    _applied_stack(db)
    (claimed,) = drift.tick(db, TICK, spread_seconds=45)
    assert _runs(db) == 0 and _run_of_check(db, claimed.check_id) is None
    (bell,) = dispatch.dispatch(db, [claimed.check_id])
    assert bell.task == "plan_run" and db.get(Run, bell.target_id) is not None
    assert _run_of_check(db, claimed.check_id) == bell.target_id


def test_a_batch_delivered_twice_creates_each_run_once(db: Session) -> None:
    _applied_stack(db)
    (claimed,) = drift.tick(db, TICK, spread_seconds=45)
    (bell,) = dispatch.dispatch(db, [claimed.check_id])
    assert dispatch.dispatch(db, [claimed.check_id]) == []
    assert _runs(db) == 1
    history = db.scalar(
        select(func.count())
        .select_from(RunTransition)
        .where(RunTransition.run_id == bell.target_id)
    )
    assert history == 1


def test_a_claimed_check_whose_batch_never_came_gets_its_run_from_a_later_tick(
    db: Session,
) -> None:
    _applied_stack(db)
    (claimed,) = drift.tick(db, TICK, spread_seconds=45)
    assert dispatch.overdue(db, TICK + timedelta(seconds=30), spread_seconds=45) == []
    db.execute(update(DriftCheck).values(created_at=TICK - timedelta(minutes=5)))
    (bell,) = dispatch.overdue(db, TICK, spread_seconds=45)
    assert _run_of_check(db, claimed.check_id) == bell.target_id
    assert dispatch.overdue(db, TICK, spread_seconds=45) == []


def test_runs_are_batched_by_the_second_of_the_spread_they_start_in() -> None:
    starts = [(1, 0.2), (2, 3.9), (3, 0.7), (4, 3.0), (5, 44.99)]
    assert dispatch.batches(starts) == [(0.0, [1, 3]), (3.0, [2, 4]), (44.0, [5])]
