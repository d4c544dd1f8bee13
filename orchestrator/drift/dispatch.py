"""Drift runs created when their start comes, not at the tick.

A tick (`service.tick`) only claims the due checks (queued, no run yet) and commits: the checks
are the durable record of the runs to come. The runs are created here in batches, one batch
per second of the spread, each batch sent as one message (`stackrun.dispatch_drift`, with its
delay): the batch's runs are created QUEUED with their first history rows, each check is given
its run, and their `plan_run` doorbells are rung. A check whose batch never came (a message
lost, a process that died after the tick) gets its run late from `overdue`, which every tick
calls. A check is taken by a compare-and-set (its run id set from none), so two dispatchers of
the same check (a batch delivered twice, a late batch beside `overdue`) create one run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, select, text, update
from sqlalchemy.orm import Session

from orchestrator.db import one_of, update_many
from orchestrator.drift import schedule
from orchestrator.models import DriftCheck, Repository, Stack, StackOutputs
from orchestrator.runs import service
from orchestrator.runs.queue import Doorbell
from orchestrator.runstate import RunKind

BATCH_SECONDS = 1.0
OVERDUE_GRACE = timedelta(seconds=60)
"""A check still without its run this long after its spread ended has lost its batch."""
OVERDUE_LIMIT = 10_000
TAKING = 0
"""The run id a check holds between being taken and being given its run (one transaction)."""


@dataclass(frozen=True)
class _Waiting:
    check_id: int
    stack_id: str
    slot: datetime
    commit_sha: str
    branch: str
    pool: str


def batches(starts: Iterable[tuple[int, float]]) -> list[tuple[float, list[int]]]:
    """(check id, delay) pairs grouped by the second their start falls in: (the second's
    delay, its check ids), earliest first."""
    by_second: dict[int, list[int]] = defaultdict(list)
    for check_id, delay in starts:
        by_second[int(delay // BATCH_SECONDS)].append(check_id)
    return [(second * BATCH_SECONDS, ids) for second, ids in sorted(by_second.items())]


def dispatch(
    session: Session, check_ids: list[int], reasons: Mapping[datetime, str] | None = None
) -> list[Doorbell]:
    """Create the DRIFT runs of the checks of `check_ids` that have none yet: the doorbells of
    the runs created. `reasons` says why a slot was checked (by default, its schedule slot)."""
    if not check_ids:
        return []
    return _create(session, one_of(session, DriftCheck.id, check_ids), None, reasons or {})


def overdue(session: Session, now: datetime, spread_seconds: float) -> list[Doorbell]:
    """Create the runs of checks claimed long enough ago that their batch should have come
    (at most OVERDUE_LIMIT a call): nothing claimed is lost, only late."""
    cut = now - timedelta(seconds=spread_seconds) - OVERDUE_GRACE
    return _create(session, DriftCheck.created_at < cut, OVERDUE_LIMIT, {})


def _create(
    session: Session,
    which: ColumnElement[bool],
    limit: int | None,
    reasons: Mapping[datetime, str],
) -> list[Doorbell]:
    """Take the checks of `which` still waiting for a run, create their runs, and give each
    check its run: the doorbells of those runs."""
    waiting = {row.check_id: row for row in _waiting(session, which, limit)}
    taken = _take(session, list(waiting))
    if not taken:
        return []
    mine = [waiting[check_id] for check_id in taken]
    news = [
        service.NewRun(
            stack_id=row.stack_id,
            kind=RunKind.DRIFT,
            commit_sha=row.commit_sha,
            branch=row.branch,
            triggered_by="drift",
            trigger_reason=f"drift check ({_why(row.slot, reasons)}) of the last applied commit",
        )
        for row in mine
    ]
    reserved = list(taken.values())
    if TAKING in reserved:  # SQLite: the runs get their ids first, then the checks
        run_ids = service.create_runs(session, news)
        given = [{"id": c, "run_id": r} for c, r in zip(taken, run_ids, strict=True)]
        update_many(session, cast(Table, DriftCheck.__table__), given)
    else:
        run_ids = service.create_runs(session, news, reserved)
    return [Doorbell("plan_run", r, row.pool) for row, r in zip(mine, run_ids, strict=True)]


def _why(slot: datetime, reasons: Mapping[datetime, str]) -> str:
    return reasons.get(slot) or f"schedule slot {slot:%Y-%m-%d %H:%M}Z"


def _waiting(session: Session, which: ColumnElement[bool], limit: int | None) -> list[_Waiting]:
    """The queued checks of `which` without a run, with what their runs are made of."""
    rows = session.execute(
        select(
            DriftCheck.id,
            DriftCheck.stack_id,
            DriftCheck.slot,
            StackOutputs.commit_sha,
            Repository.branch,
            Stack.worker_pool,
        )
        .join(StackOutputs, StackOutputs.stack_id == DriftCheck.stack_id)
        .join(Stack, Stack.id == DriftCheck.stack_id)
        .join(Repository, Repository.id == Stack.repository_id)
        .where(which, DriftCheck.status == "queued", DriftCheck.run_id.is_(None))
        .order_by(DriftCheck.id)
        .limit(limit)
    )
    return [_Waiting(row[0], row[1], schedule.as_utc(row[2]), *row[3:]) for row in rows]


def _take(session: Session, check_ids: list[int]) -> dict[int, int]:
    """Compare-and-set: the checks of `check_ids` still without a run, now held by this
    transaction (another dispatcher waits for it, then finds them taken), each with the id
    of its run to be: on PostgreSQL reserved from the runs' sequence in the same statement,
    on SQLite (one writer) TAKING until the runs are created."""
    if not check_ids:
        return {}
    postgres = session.get_bind().dialect.name == "postgresql"
    result: Any = session.execute(
        update(DriftCheck)
        .where(one_of(session, DriftCheck.id, check_ids), DriftCheck.run_id.is_(None))
        .values(run_id=func.nextval(text("'runs_id_seq'::regclass")) if postgres else TAKING)
        .returning(DriftCheck.id, DriftCheck.run_id)
    )
    return {int(check_id): int(run_id) for check_id, run_id in sorted(result.all())}
