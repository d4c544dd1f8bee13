"""Drift schedules: which stacks are due at a tick, and when each of them starts. Pure.
(A stack's drift_detection block itself is checked in orchestrator/stackconfig/drift.py.)"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from croniter import croniter

TICK_WINDOW = timedelta(minutes=2)
"""A slot is due at the ticks of the two minutes after it: one missed tick loses nothing, a
long outage does not fire a backlog of old slots."""
DEFAULT_SPREAD_SECONDS = 45.0


class SlotCache:
    """The latest slot of each distinct schedule at one tick: a thousand stacks on
    `0 * * * *` cost one cron computation."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._latest: dict[str, datetime] = {}

    def latest(self, schedule: str) -> datetime:
        if schedule not in self._latest:
            start = self.now + timedelta(microseconds=1)
            previous = croniter(schedule, start).get_prev(datetime)
            self._latest[schedule] = previous.replace(tzinfo=UTC)
        return self._latest[schedule]


def due_slot(
    schedules: Sequence[str], last_slot: datetime | None, slots: SlotCache
) -> datetime | None:
    """The slot a stack is due for at this tick, if any."""
    if not schedules:
        return None
    slot = max(slots.latest(s) for s in schedules)
    if slot <= slots.now - TICK_WINDOW:
        return None
    if last_slot is not None and slot <= last_slot.replace(tzinfo=last_slot.tzinfo or UTC):
        return None
    return slot


def due_stacks(
    stacks: Iterable[tuple[str, Sequence[str], datetime | None]], now: datetime
) -> dict[str, datetime]:
    """(stack id, schedules, last slot checked) → {stack id: slot due now}."""
    slots = SlotCache(now)
    due: dict[str, datetime] = {}
    for stack_id, schedules, last_slot in stacks:
        slot = due_slot(schedules, last_slot, slots)
        if slot is not None:
            due[stack_id] = slot
    return due


def start_delay(stack_id: str, slot: datetime, spread_seconds: float) -> float:
    """A stable delay in [0, spread) per (stack, slot): stacks due together start spread out."""
    digest = hashlib.sha256(f"{stack_id}@{_iso(slot)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * spread_seconds


@lru_cache(maxsize=64)
def as_utc(moment: datetime) -> datetime:
    """A slot as UTC (SQLite gives it back without its zone); a tick's slots are few."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@lru_cache(maxsize=64)
def _iso(slot: datetime) -> str:
    """A tick's stacks share a few slots: each is written out once."""
    return slot.isoformat()
