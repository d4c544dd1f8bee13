"""Which stacks a drift tick must check, chosen in the database.

A tick does not read every stack row: stacks share a few schedules, so the distinct
(schedules, override) pairs are read (as their stored JSON text), the due slot of each pair is
computed once in Python (`schedule.due_slot`), and the stacks of the due pairs whose last slot
is older are selected with what starting their check needs (worker pool, last applied commit,
branch) in the same query."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Text, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from orchestrator.drift import schedule
from orchestrator.models import Repository, Stack, StackOutputs


class Due(NamedTuple):
    """A stack with a slot to check, and what its check needs; `commit_sha` is None when the
    stack was never applied (its check is skipped). A tuple: a busy tick makes 50,000."""

    stack_id: str
    slot: datetime
    worker_pool: str
    commit_sha: str | None
    branch: str


def schedules(declared: list[Any] | None, override: Mapping[str, Any] | None) -> list[str]:
    """The stack's schedules: an admin's override, else its stackrun.hcl."""
    if override is not None and "schedules" in override:
        return [str(s) for s in override["schedules"] or []]
    return [str(s) for s in declared or []]


def _declared() -> Any:
    return func.coalesce(cast(Stack.drift_schedules, Text), "")


def _override() -> Any:
    return func.coalesce(cast(Stack.drift_override, Text), "")


def _due_pairs(session: Session, now: datetime) -> list[tuple[str, str, datetime]]:
    """(schedules text, override text, slot) of every distinct pair with a slot due now."""
    pairs = session.execute(
        select(_declared(), _override()).where(Stack.deleted.is_(False)).distinct()
    ).all()
    slots = schedule.SlotCache(now)
    due: list[tuple[str, str, datetime]] = []
    for declared, override in pairs:
        wanted = schedules(
            json.loads(str(declared)) if declared else None,
            json.loads(str(override)) if override else None,
        )
        slot = schedule.due_slot(wanted, None, slots)
        if slot is not None:
            due.append((str(declared), str(override), slot))
    return due


def _facts() -> Any:
    return (
        select(Stack.id, Stack.worker_pool, StackOutputs.commit_sha, Repository.branch)
        .join(Repository, Repository.id == Stack.repository_id)
        .outerjoin(StackOutputs, StackOutputs.stack_id == Stack.id)
        .order_by(Stack.id)
    )


def due_now(session: Session, now: datetime) -> list[Due]:
    """Every live stack with a slot due at this tick that it has not been checked for."""
    pairs = _due_pairs(session, now)
    if not pairs:
        return []
    slot_of = {(declared, override): slot for declared, override, slot in pairs}
    declared, override = _declared(), _override()
    query = (
        _facts()
        .add_columns(declared.label("declared"), override.label("override"))
        .where(
            Stack.deleted.is_(False),
            or_(
                *(
                    and_(
                        declared == d,
                        override == o,
                        or_(Stack.last_drift_slot.is_(None), Stack.last_drift_slot < slot),
                    )
                    for d, o, slot in pairs
                )
            ),
        )
    )
    return [
        Due(
            row.id, slot_of[row.declared, row.override], row.worker_pool, row.commit_sha, row.branch
        )
        for row in session.execute(query)
    ]


def facts_of(session: Session, slots: Mapping[str, datetime]) -> list[Due]:
    """The given stacks, each with the slot given (a check asked for by hand)."""
    rows = session.execute(_facts().where(Stack.id.in_(list(slots))))
    return [Due(row.id, slots[row.id], row.worker_pool, row.commit_sha, row.branch) for row in rows]
