"""Drift checks: the tick that starts them, and what their runs found."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, literal, select, update
from sqlalchemy.orm import Session

from orchestrator.boundary import queries as boundary
from orchestrator.db import AnySelect, insert_selected, one_of
from orchestrator.drift import dispatch, due, schedule
from orchestrator.models import DriftCheck, Run, Stack, utcnow
from orchestrator.notifications import messages
from orchestrator.notifications import service as notifications
from orchestrator.runs import service
from orchestrator.runstate import RunKind, RunState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """A drift check claimed: its run is created and rung after `delay` seconds (spread over
    the minute; `dispatch.batches`)."""

    check_id: int
    stack_id: str
    delay: float


def schedules_of(stack: Stack) -> list[str]:
    """The stack's schedules: an admin's override, else its stackrun.hcl."""
    return due.schedules(stack.drift_schedules, stack.drift_override)


def reconciles(stack: Stack) -> bool:
    if stack.drift_override is not None and "reconcile" in stack.drift_override:
        return bool(stack.drift_override["reconcile"])
    return bool(stack.drift_reconcile)


def tick(session: Session, now: datetime, spread_seconds: float) -> list[Started]:
    """Claim a drift check for every stack with a slot due now; one per (stack, slot), also
    when several beats tick at once (the database's unique constraint decides). Their runs
    are created when their starts come (`dispatch`)."""
    pairs = due.due_pairs(session, now)
    if not pairs:
        return []
    started = _claim(session, due.stacks_due(pairs), utcnow())
    log.info("drift tick at %s: %d drift checks claimed", now.isoformat(), len(started))
    return [
        Started(check_id, stack_id, schedule.start_delay(stack_id, slot, spread_seconds))
        for check_id, stack_id, slot in started
    ]


def start_check(session: Session, stack: Stack, slot: datetime, why: str) -> int | None:
    """One check now (an API request): its run id, or None when there is nothing to check."""
    started = _claim(session, due.stacks_given({stack.id: slot}), utcnow())
    if not started:
        return None
    (check_id, _, slot), *_ = started
    bells = dispatch.dispatch(session, [check_id], {slot: why})
    return bells[0].target_id if bells else None


NEVER_APPLIED = "the stack has never been applied"


def _claim(session: Session, found: AnySelect, now: datetime) -> list[tuple[int, str, datetime]]:
    """Insert the (stack, slot) rows of `found` (stack_id, slot, commit_sha) nobody holds yet,
    an applied stack's as queued for a run, a never-applied one's as skipped (and its stack's
    last check time set): (check id, stack id, slot) of each queued check. Nothing of the
    stacks leaves the database but that."""
    rows = found.subquery()
    applied = rows.c.commit_sha.is_not(None)
    table = cast(Table, DriftCheck.__table__)
    source = select(
        rows.c.stack_id,
        rows.c.slot,
        case((applied, "queued"), else_="skipped"),
        literal([], table.c.resources.type),
        case((applied, ""), else_=NEVER_APPLIED),
        literal(now, table.c.created_at.type),
        case((applied, None), else_=literal(now, table.c.finished_at.type)),
    ).order_by(rows.c.stack_id)
    columns = ["stack_id", "slot", "status", "resources", "reason", "created_at"]
    inserted = insert_selected(
        session,
        table,
        [*columns, "finished_at"],
        source,
        skip_conflicts_on=["stack_id", "slot"],
        returning=["id", "stack_id", "slot", "status"],
    )
    skipped = [int(row.id) for row in inserted if row.status == "skipped"]
    if skipped:
        checked = select(DriftCheck.stack_id).where(one_of(session, DriftCheck.id, skipped))
        session.execute(update(Stack).where(Stack.id.in_(checked)).values(last_drift_check_at=now))
    return [
        (int(row.id), row.stack_id, schedule.as_utc(row.slot))
        for row in inserted
        if row.status == "queued"
    ]


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
