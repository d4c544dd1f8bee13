"""Drift checks on an in-memory database: one per slot, skipped when nothing was applied,
results and reconcile runs, and drift runs that give way to tracked runs."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.drift import dispatch
from orchestrator.drift import service as drift
from orchestrator.models import DriftCheck, Run, RunTransition, Stack, StackOutputs
from orchestrator.runs import claims, outcomes, service
from orchestrator.runstate import RunKind, RunState
from tests.unit.rows import add_stack

TICK = datetime(2026, 11, 28, 12, 0, 30, tzinfo=UTC)
SLOT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
APPLIED = "c" * 40


def _stack(db: Session, applied: bool = True, reconcile: bool = False) -> Stack:
    stack = add_stack(db, drift_schedules=["0 * * * *"], drift_reconcile=reconcile)
    if applied:
        db.add(
            StackOutputs(
                stack_id=stack.id, run_id=1, commit_sha=APPLIED, plain={}, sensitive_names=[]
            )
        )
    db.flush()
    return stack


def _drift_runs(db: Session) -> list[Run]:
    return list(db.scalars(select(Run).where(Run.kind == RunKind.DRIFT)))


def _started(db: Session) -> list[int]:
    """A tick whose batches all came: the runs of the checks it claimed."""
    started = drift.tick(db, TICK, spread_seconds=45)
    return [bell.target_id for bell in dispatch.dispatch(db, [s.check_id for s in started])]


def test_a_due_stack_gets_one_drift_run_of_its_last_applied_commit_per_slot(db: Session) -> None:
    _stack(db)
    (claimed,) = drift.tick(db, TICK, spread_seconds=45)
    assert 0 <= claimed.delay < 45
    assert drift.tick(db, TICK, spread_seconds=45) == []
    (bell,) = dispatch.dispatch(db, [claimed.check_id])
    (run,) = _drift_runs(db)
    assert (run.id, run.commit_sha, run.state) == (bell.target_id, APPLIED, RunState.QUEUED)
    check = db.scalar(select(DriftCheck))
    assert check is not None and check.slot.replace(tzinfo=UTC) == SLOT


def test_a_drift_run_is_queued_with_its_reason_pool_and_first_history_row(db: Session) -> None:
    stack = _stack(db)
    stack.worker_pool = "big"
    db.flush()
    (started,) = drift.tick(db, TICK, spread_seconds=45)
    (bell,) = dispatch.dispatch(db, [started.check_id])
    run = db.get(Run, bell.target_id)
    assert run is not None and (run.kind, run.branch, run.triggered_by) == (
        RunKind.DRIFT,
        "main",
        "drift",
    )
    assert run.trigger_reason == (
        "drift check (schedule slot 2026-11-28 12:00Z) of the last applied commit"
    )
    assert (run.pipeline_id, run.dedupe_key, run.upstream_run_ids) == (None, None, [])
    assert started.stack_id == stack.id
    assert (bell.task, bell.queue) == ("plan_run", "big")
    history = db.scalars(select(RunTransition).where(RunTransition.run_id == run.id)).all()
    assert [(h.from_state, h.to_state, h.actor, h.reason) for h in history] == [
        (None, RunState.QUEUED, "drift", "created")
    ]
    check = db.scalar(select(DriftCheck))
    assert check is not None and (check.run_id, check.status) == (run.id, "queued")


def test_a_check_asked_for_by_hand_starts_a_run_once_per_moment(db: Session) -> None:
    stack = _stack(db)
    asked = datetime(2026, 11, 28, 12, 3, 4, 567, tzinfo=UTC)
    run_id = drift.start_check(db, stack, asked, "requested by ada")
    run = db.get(Run, run_id)
    assert run is not None
    assert run.trigger_reason == "drift check (requested by ada) of the last applied commit"
    assert drift.start_check(db, stack, asked, "requested by ada") is None


def test_a_never_applied_stack_records_when_it_was_checked(db: Session) -> None:
    stack = _stack(db, applied=False)
    assert drift.tick(db, TICK, spread_seconds=45) == []
    db.refresh(stack)
    assert stack.last_drift_check_at is not None


def test_a_slot_claimed_by_another_tick_is_not_started_again(db: Session) -> None:
    stack = _stack(db)
    db.add(DriftCheck(stack_id=stack.id, slot=SLOT, status="queued"))
    db.flush()
    assert drift.tick(db, TICK, spread_seconds=45) == []
    assert _drift_runs(db) == []


def test_a_stack_never_applied_is_skipped_with_the_reason(db: Session) -> None:
    _stack(db, applied=False)
    assert drift.tick(db, TICK, spread_seconds=45) == []
    check = db.scalar(select(DriftCheck))
    assert check is not None
    assert (check.status, check.reason) == ("skipped", "the stack has never been applied")


def _planning(db: Session, run_id: int) -> None:
    assert claims.claim_for_plan(db, run_id, lease_seconds=60) is not None
    claims.move(db, run_id, RunState.INITIALIZING, RunState.PREPARING, "init")
    claims.move(db, run_id, RunState.PLANNING, RunState.INITIALIZING, "plan")


def test_a_drifted_plan_is_recorded_and_with_reconcile_a_tracked_run_follows(db: Session) -> None:
    stack = _stack(db, reconcile=True)
    (run_id,) = _started(db)
    _planning(db, run_id)
    changes = [{"address": "null_resource.x", "type": "null_resource", "actions": ["create"]}]
    bells = outcomes.plan_done(db, run_id, {"add": 1, "change": 0, "destroy": 0}, changes, "f" * 64)
    db.refresh(stack)
    assert stack.drift_status == "drifted" and stack.last_drift_check_at is not None
    check = db.scalar(select(DriftCheck))
    assert check is not None and check.resources == [
        {"address": "null_resource.x", "actions": ["create"]}
    ]
    reconcile = db.get(Run, check.reconcile_run_id)
    assert reconcile is not None
    assert (reconcile.kind, reconcile.commit_sha) == (RunKind.TRACKED, APPLIED)
    assert [(b.task, b.target_id) for b in bells] == [("plan_run", reconcile.id)]
    assert db.get(Run, run_id).state == RunState.FINISHED  # type: ignore[union-attr]


def test_a_clean_plan_records_no_drift_and_starts_nothing(db: Session) -> None:
    stack = _stack(db, reconcile=True)
    (run_id,) = _started(db)
    _planning(db, run_id)
    zero = {"add": 0, "change": 0, "destroy": 0}
    assert outcomes.plan_done(db, run_id, zero, [], "f" * 64) == []
    db.refresh(stack)
    assert stack.drift_status == "no_drift"


def _tracked(db: Session) -> int:
    run = service.create_run(
        db,
        service.NewRun(
            stack_id="acme/p/vpc",
            kind=RunKind.TRACKED,
            commit_sha="d" * 40,
            branch="main",
            triggered_by="push:dev",
        ),
    )
    assert run is not None
    return run.id


def test_a_drift_run_waits_while_a_tracked_run_of_its_stack_is_queued(db: Session) -> None:
    _stack(db)
    (run_id,) = _started(db)
    tracked = _tracked(db)
    assert claims.claim_for_plan(db, run_id, lease_seconds=60) is None
    assert db.get(Run, run_id).state == RunState.QUEUED  # type: ignore[union-attr]
    assert claims.claim_for_plan(db, tracked, lease_seconds=60) is not None


def test_a_drift_run_is_skipped_while_an_apply_holds_the_stack(db: Session) -> None:
    _stack(db)
    (run_id,) = _started(db)
    tracked = _tracked(db)
    _planning(db, tracked)
    outcomes.plan_done(db, tracked, {"add": 1, "change": 0, "destroy": 0}, [], "f" * 64)
    service.transition(db, tracked, RunState.CONFIRMED, actor="t")
    assert claims.claim_for_plan(db, run_id, lease_seconds=60) is None
    run = db.get(Run, run_id)
    assert run is not None and run.state == RunState.SKIPPED
    check = db.scalar(select(DriftCheck))
    assert check is not None and check.status == "skipped"
    assert check.reason == f"run {tracked} was applying"
