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
from orchestrator.drift import schedule
from orchestrator.models import DriftCheck, Repository, Run, Stack, StackOutputs, utcnow
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
    started = start_checks(session, due, lambda slot: f"schedule slot {slot:%Y-%m-%d %H:%M}Z")
    return [
        Started(
            run_id, stack_id, queue, schedule.start_delay(stack_id, due[stack_id], spread_seconds)
        )
        for stack_id, run_id, queue in started
    ]


def start_check(session: Session, stack: Stack, slot: datetime, why: str) -> int | None:
    """One check now (an API request): its run id, or None when there is nothing to check."""
    started = start_checks(session, {stack.id: slot}, lambda _slot: why)
    return started[0][1] if started else None


def start_checks(
    session: Session, due: dict[str, datetime], why: Callable[[datetime], str]
) -> list[tuple[str, int, str]]:
    """Claim each (stack, slot), then create the DRIFT runs of the claimed ones in bulk:
    (stack id, run id, worker pool) for each started check. A stack never applied gets a
    skipped check and no run."""
    claimed = _claim_slots(session, due)
    if not claimed:
        return []
    facts = session.execute(
        select(Stack.id, Stack.worker_pool, StackOutputs.commit_sha, Repository.branch)
        .join(Repository, Repository.id == Stack.repository_id)
        .outerjoin(StackOutputs, StackOutputs.stack_id == Stack.id)
        .where(Stack.id.in_(list(claimed)))
        .order_by(Stack.id)
    ).all()
    applied = [row for row in facts if row.commit_sha is not None]
    never = [row.id for row in facts if row.commit_sha is None]
    now = utcnow()
    runs = [_drift_run(row.id, row.commit_sha, row.branch, why(due[row.id])) for row in applied]
    run_ids = service.create_runs(session, runs)
    started = {row.id: run_id for row, run_id in zip(applied, run_ids, strict=True)}
    _mark_started(session, claimed, due, started, never, now)
    return [(row.id, started[row.id], row.worker_pool) for row in applied]


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


def _mark_started(
    session: Session,
    claimed: dict[str, int],
    due: dict[str, datetime],
    started: dict[str, int],
    never: list[str],
    now: datetime,
) -> None:
    """The claimed checks get their run (or are skipped: never applied); their stacks, the
    slot they are at."""
    checks: list[dict[str, Any]] = [
        {"id": claimed[stack_id], "run_id": run_id} for stack_id, run_id in started.items()
    ]
    checks += [
        {
            "id": claimed[stack_id],
            "status": "skipped",
            "finished_at": now,
            "reason": "the stack has never been applied",
        }
        for stack_id in never
    ]
    _update_each(session, DriftCheck, checks)
    stacks: list[dict[str, Any]] = [
        {"id": stack_id, "last_drift_slot": due[stack_id]}
        | ({"last_drift_check_at": now} if stack_id in never else {})
        for stack_id in claimed
    ]
    _update_each(session, Stack, stacks)


def _update_each(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk update by primary key, grouped by the columns set (one statement per shape)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    for group in shapes.values():
        update_many(session, cast(Table, model.__table__), group)


def _claim_slots(session: Session, due: dict[str, datetime]) -> dict[str, int]:
    """Insert the (stack, slot) rows nobody holds yet: {stack id: check id} of the new ones."""
    if not due:
        return {}
    now = utcnow()
    rows = [
        {
            "stack_id": stack_id,
            "slot": slot,
            "status": "queued",
            "resources": [],
            "reason": "",
            "created_at": now,
        }
        for stack_id, slot in sorted(due.items())
    ]
    table = cast(Table, DriftCheck.__table__)
    inserted = insert_many(session, table, rows, ["stack_id", "id"], ["stack_id", "slot"])
    claimed = {str(row.stack_id): int(row.id) for row in inserted}
    for stack_id in sorted(set(due) - set(claimed)):
        log.info(
            "stack=%s slot=%s drift check already started", stack_id, due[stack_id].isoformat()
        )
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
