"""Drift checks: the tick that starts them, and what their runs found."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from orchestrator.boundary import queries as boundary
from orchestrator.db import insert_many, update_many
from orchestrator.drift import due, schedule
from orchestrator.models import DriftCheck, Run, Stack, utcnow
from orchestrator.notifications import messages
from orchestrator.notifications import service as notifications
from orchestrator.runs import service
from orchestrator.runstate import RunKind, RunState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """A drift run to ring after `delay` seconds (spread over the minute)."""

    run_id: int
    stack_id: str
    queue: str
    delay: float


def schedules_of(stack: Stack) -> list[str]:
    """The stack's schedules: an admin's override, else its stackrun.hcl."""
    return due.schedules(stack.drift_schedules, stack.drift_override)


def reconciles(stack: Stack) -> bool:
    if stack.drift_override is not None and "reconcile" in stack.drift_override:
        return bool(stack.drift_override["reconcile"])
    return bool(stack.drift_reconcile)


def tick(session: Session, now: datetime, spread_seconds: float) -> list[Started]:
    """Start a drift check for every stack with a slot due now; one per (stack, slot), also
    when several beats tick at once (the database's unique constraint decides)."""
    found = due.due_now(session, now)
    started = _start(session, found, lambda slot: f"schedule slot {slot:%Y-%m-%d %H:%M}Z")
    return [
        Started(
            run_id,
            d.stack_id,
            d.worker_pool,
            schedule.start_delay(d.stack_id, d.slot, spread_seconds),
        )
        for d, run_id in started
    ]


def start_check(session: Session, stack: Stack, slot: datetime, why: str) -> int | None:
    """One check now (an API request): its run id, or None when there is nothing to check."""
    started = _start(session, due.facts_of(session, {stack.id: slot}), lambda _slot: why)
    return started[0][1] if started else None


def _start(
    session: Session, found: list[due.Due], why: Callable[[datetime], str]
) -> list[tuple[due.Due, int]]:
    """Claim each (stack, slot), then create the DRIFT runs of the claimed ones in bulk:
    each started check with its run. A stack never applied gets a check claimed as skipped
    and no run."""
    now = utcnow()
    claimed = _claim_slots(session, found, now)
    if not claimed:
        return []
    applied = [d for d in found if d.stack_id in claimed and d.commit_sha is not None]
    runs = [_drift_run(d.stack_id, str(d.commit_sha), d.branch, why(d.slot)) for d in applied]
    run_ids = service.create_runs(session, runs)
    update_many(
        session,
        cast(Table, DriftCheck.__table__),
        [{"id": claimed[d.stack_id], "run_id": r} for d, r in zip(applied, run_ids, strict=True)],
    )
    _mark_stacks(session, [d for d in found if d.stack_id in claimed], now)
    return list(zip(applied, run_ids, strict=True))


def _drift_run(stack_id: str, commit_sha: str, branch: str, why: str) -> service.NewRun:
    """A drift check's run: a plan of the stack's last applied commit."""
    return service.NewRun(
        stack_id=stack_id,
        kind=RunKind.DRIFT,
        commit_sha=commit_sha,
        branch=branch,
        triggered_by="drift",
        trigger_reason=f"drift check ({why}) of the last applied commit",
    )


def _mark_stacks(session: Session, claimed: list[due.Due], now: datetime) -> None:
    """The claimed stacks are at their slot; a skipped one (never applied) was checked now."""
    table = cast(Table, Stack.__table__)
    checked = [d for d in claimed if d.commit_sha is not None]
    skipped = [d for d in claimed if d.commit_sha is None]
    update_many(session, table, [{"id": d.stack_id, "last_drift_slot": d.slot} for d in checked])
    update_many(
        session,
        table,
        [
            {"id": d.stack_id, "last_drift_slot": d.slot, "last_drift_check_at": now}
            for d in skipped
        ],
    )


NEVER_APPLIED = "the stack has never been applied"


def _claim_slots(session: Session, found: list[due.Due], now: datetime) -> dict[str, int]:
    """Insert the (stack, slot) rows nobody holds yet, a never-applied stack's as skipped:
    {stack id: check id} of the new ones."""
    if not found:
        return {}
    rows: list[dict[str, Any]] = [
        {
            "stack_id": d.stack_id,
            "slot": d.slot,
            "status": "queued" if d.commit_sha else "skipped",
            "resources": [],
            "reason": "" if d.commit_sha else NEVER_APPLIED,
            "created_at": now,
            "finished_at": None if d.commit_sha else now,
        }
        for d in sorted(found, key=lambda d: d.stack_id)
    ]
    table = cast(Table, DriftCheck.__table__)
    inserted = insert_many(session, table, rows, ["stack_id", "id"], ["stack_id", "slot"])
    claimed = {str(row.stack_id): int(row.id) for row in inserted}
    for d in found:
        if d.stack_id not in claimed:
            log.info("stack=%s slot=%s drift check already started", d.stack_id, d.slot.isoformat())
    return claimed


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
    check.resources = _attributed(session, stack.id, changes)
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


def _attributed(
    session: Session, stack_id: str, changes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The drifted resources, each naming the Argo CD applications found managing it too."""
    claimed = boundary.claims_for(session, stack_id, [c["address"] for c in changes])
    return [
        {"address": c["address"], "actions": c["actions"]}
        | ({"managed_by": claimed[c["address"]]} if c["address"] in claimed else {})
        for c in changes
    ]


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
