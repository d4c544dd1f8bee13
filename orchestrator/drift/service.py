"""Drift checks: the tick that starts them, and what their runs found."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.drift import schedule
from orchestrator.models import DriftCheck, Repository, Run, Stack, StackOutputs, utcnow
from orchestrator.notifications import messages
from orchestrator.notifications import service as notifications
from orchestrator.runs import service
from orchestrator.runs.state import RunKind, RunState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """A drift run to ring after `delay` seconds (spread over the minute)."""

    run_id: int
    queue: str
    delay: float


def schedules_of(stack: Stack) -> list[str]:
    """The stack's schedules: an admin's override, else its stackrun.hcl."""
    return _schedules(stack.drift_schedules, stack.drift_override)


def _schedules(declared: list[Any] | None, override: dict[str, Any] | None) -> list[str]:
    if override is not None and "schedules" in override:
        return [str(s) for s in override["schedules"] or []]
    return [str(s) for s in declared or []]


def reconciles(stack: Stack) -> bool:
    if stack.drift_override is not None and "reconcile" in stack.drift_override:
        return bool(stack.drift_override["reconcile"])
    return bool(stack.drift_reconcile)


def tick(session: Session, now: datetime, spread_seconds: float) -> list[Started]:
    """Start a drift check for every stack with a slot due now; one per (stack, slot), also
    when several beats tick at once (the database's unique constraint decides)."""
    rows = session.execute(
        select(Stack.id, Stack.drift_schedules, Stack.drift_override, Stack.last_drift_slot).where(
            Stack.deleted.is_(False)
        )
    )
    candidates: list[tuple[str, list[str], datetime | None]] = [
        (str(row.id), _schedules(row.drift_schedules, row.drift_override), row.last_drift_slot)
        for row in rows
        if row.drift_schedules or row.drift_override
    ]
    due = schedule.due_stacks(candidates, now)
    started: list[Started] = []
    for stack_id, slot in sorted(due.items()):
        stack = session.get(Stack, stack_id)
        assert stack is not None
        run_id = start_check(session, stack, slot, f"schedule slot {slot:%Y-%m-%d %H:%M}Z")
        if run_id is not None:
            delay = schedule.start_delay(stack_id, slot, spread_seconds)
            started.append(Started(run_id, stack.worker_pool, delay))
    return started


def start_check(session: Session, stack: Stack, slot: datetime, why: str) -> int | None:
    """Record the check of `slot` and create its DRIFT run; None when another tick already
    holds this slot or there is nothing to check (never applied)."""
    check = DriftCheck(stack_id=stack.id, slot=slot, status="queued")
    try:
        with session.begin_nested():
            session.add(check)
            session.flush()
    except IntegrityError:
        log.info("stack=%s slot=%s drift check already started", stack.id, slot.isoformat())
        return None
    stack.last_drift_slot = slot
    applied = session.get(StackOutputs, stack.id)
    if applied is None:
        _skip(stack, check, "the stack has never been applied")
        return None
    repository = session.get(Repository, stack.repository_id)
    run = service.create_run(
        session,
        service.NewRun(
            stack_id=stack.id,
            kind=RunKind.DRIFT,
            commit_sha=applied.commit_sha,
            branch=repository.branch if repository else "",
            triggered_by="drift",
            trigger_reason=f"drift check ({why}) of the last applied commit",
        ),
        dedupe=False,
    )
    assert run is not None
    check.run_id = run.id
    return run.id


def _skip(stack: Stack, check: DriftCheck, reason: str) -> None:
    check.status, check.reason, check.finished_at = "skipped", reason, utcnow()
    stack.last_drift_check_at = check.finished_at


def check_of(session: Session, run_id: int) -> DriftCheck | None:
    return session.scalar(select(DriftCheck).where(DriftCheck.run_id == run_id))


def record_plan(session: Session, run: Run, changes: list[dict[str, Any]]) -> int | None:
    """A drift run planned: `no_drift` or `drifted` with the resources; with reconcile, a
    tracked run at the same commit goes through policies and approval (the drift run's end
    rings it, as the next queued run of the stack)."""
    stack = session.get(Stack, run.stack_id)
    check = check_of(session, run.id)
    if stack is None or check is None:
        return None
    drifted = bool(changes)
    check.status = "drifted" if drifted else "no_drift"
    check.resources = [{"address": c["address"], "actions": c["actions"]} for c in changes]
    check.finished_at = utcnow()
    stack.drift_status, stack.last_drift_check_at = check.status, check.finished_at
    if drifted:
        _announce(session, stack, run, check)
    if not (drifted and reconciles(stack)):
        return None
    reconcile = service.create_run(
        session,
        service.NewRun(
            stack_id=stack.id,
            kind=RunKind.TRACKED,
            commit_sha=run.commit_sha,
            branch=run.branch,
            triggered_by="drift-reconcile",
            trigger_reason=f"reconcile the drift found by run {run.id}",
        ),
        dedupe=False,
    )
    check.reconcile_run_id = reconcile.id if reconcile else None
    return check.reconcile_run_id


def _announce(session: Session, stack: Stack, run: Run, check: DriftCheck) -> None:
    detail = {
        "stack": stack.id,
        "drift": {
            "check": check.id,
            "run": run.id,
            "commit": run.commit_sha,
            "slot": check.slot.isoformat(),
            "resources": check.resources,
            "reconcile": reconciles(stack),
        },
    }
    text = messages.drift_text(stack.id, check.resources)
    notifications.enqueue(session, "drift.detected", stack.repository_id, text, detail)


def record_end(session: Session, run: Run) -> None:
    """A drift run that ended without a plan: the check says why."""
    check = check_of(session, run.id)
    if check is None or check.status != "queued":
        return
    reason = run.failure_reason or f"the run ended {run.state}"
    check.status = "failed" if run.state == RunState.FAILED else "skipped"
    check.reason, check.finished_at = reason, utcnow()
    stack = session.get(Stack, run.stack_id)
    if stack is not None:
        stack.last_drift_check_at = check.finished_at


def history(session: Session, stack_id: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(DriftCheck)
        .where(DriftCheck.stack_id == stack_id)
        .order_by(DriftCheck.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": c.id,
            "slot": c.slot.isoformat(),
            "run": c.run_id,
            "status": c.status,
            "resources": c.resources,
            "reason": c.reason,
            "reconcile_run": c.reconcile_run_id,
            "created_at": c.created_at.isoformat(),
            "finished_at": c.finished_at.isoformat() if c.finished_at else None,
        }
        for c in rows
    ]
