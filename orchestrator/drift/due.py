"""Which stacks a drift tick must check, chosen in the database.

A tick does not read every stack row: stacks share a few schedules, so the distinct
(schedules, override) pairs are read (as their stored JSON text), the due slot of each pair is
computed once in Python (`schedule.due_slot`), and the stacks of the due pairs without a check
at that slot or a later one are selected with their last applied commit: a query the tick's
claim inserts from, so the stacks never leave the database."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, case, cast, exists, func, literal, select
from sqlalchemy.orm import Session

from orchestrator.db import AnySelect
from orchestrator.drift import schedule
from orchestrator.models import DriftCheck, Stack, StackOutputs


def schedules(declared: list[Any] | None, override: Mapping[str, Any] | None) -> list[str]:
    """The stack's schedules: an admin's override, else its stackrun.hcl."""
    if override is not None and "schedules" in override:
        return [str(s) for s in override["schedules"] or []]
    return [str(s) for s in declared or []]


def _declared() -> Any:
    return func.coalesce(cast(Stack.drift_schedules, Text), "")


def _override() -> Any:
    return func.coalesce(cast(Stack.drift_override, Text), "")


def due_pairs(session: Session, now: datetime) -> list[tuple[str, str, datetime]]:
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


def _candidates(slot: Any) -> AnySelect:
    """stack_id, slot (`slot`, an expression over the stack), commit_sha (None: never
    applied) of live stacks."""
    return (
        select(Stack.id.label("stack_id"), slot.label("slot"), StackOutputs.commit_sha)
        .outerjoin(StackOutputs, StackOutputs.stack_id == Stack.id)
        .where(Stack.deleted.is_(False))
        .order_by(Stack.id)
    )


def stacks_due(pairs: list[tuple[str, str, datetime]]) -> AnySelect:
    """Every live stack of a due pair that has no check at that slot or a later one: the
    stack_id, slot and commit_sha a drift check is claimed with."""
    declared, override = _declared(), _override()
    slot = case(
        *((and_(declared == d, override == o), _at(slot)) for d, o, slot in pairs),
        else_=None,
    )
    earliest = _at(min(slot for _, _, slot in pairs))  # implied; spares reading old checks
    checked = exists().where(
        DriftCheck.stack_id == Stack.id, DriftCheck.slot >= earliest, DriftCheck.slot >= slot
    )
    return _candidates(slot).where(slot.is_not(None), ~checked)


def stacks_given(slots: Mapping[str, datetime]) -> AnySelect:
    """The given live stacks, each with the slot given (a check asked for by hand)."""
    slot = case({stack_id: _at(slot) for stack_id, slot in slots.items()}, value=Stack.id)
    return _candidates(slot).where(Stack.id.in_(list(slots)))


def _at(moment: datetime) -> Any:
    return literal(moment, DriftCheck.slot.type)
