"""Drift schedules: which slot is due at a tick, and the spread of start times."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

from orchestrator.drift import schedule

NOON = datetime(2026, 11, 28, 12, 0, 20, tzinfo=UTC)


def test_the_latest_slot_is_due_once_and_only_within_the_tick_window() -> None:
    slots = schedule.SlotCache(NOON)
    slot = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert schedule.due_slot(["0 * * * *"], None, slots) == slot
    assert schedule.due_slot(["0 * * * *"], slot, slots) is None
    later = schedule.SlotCache(NOON + timedelta(minutes=5))
    assert schedule.due_slot(["0 * * * *"], None, later) is None


def test_a_tick_exactly_on_the_slot_finds_that_slot() -> None:
    on_time = schedule.SlotCache(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    assert schedule.due_slot(["0 * * * *"], None, on_time) == datetime(
        2026, 11, 28, 12, 0, tzinfo=UTC
    )


def test_of_several_schedules_the_most_recent_slot_counts() -> None:
    slots = schedule.SlotCache(NOON)
    assert schedule.due_slot(["0 3 * * *", "*/20 * * * *"], None, slots) == datetime(
        2026, 11, 28, 12, 0, tzinfo=UTC
    )


def test_due_stacks_picks_the_due_ones_among_mixed_schedules() -> None:
    last = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    due = schedule.due_stacks(
        [
            ("a", ["0 * * * *"], last),
            ("b", ["0 * * * *"], datetime(2026, 11, 28, 12, 0, tzinfo=UTC)),
            ("c", ["30 * * * *"], None),
            ("d", [], None),
        ],
        NOON,
    )
    assert due == {"a": datetime(2026, 11, 28, 12, 0, tzinfo=UTC)}


def test_start_delays_are_stable_and_spread_over_the_window() -> None:
    slot = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    delays = [schedule.start_delay(f"acme/s{i}", slot, 45.0) for i in range(1000)]
    assert delays[0] == schedule.start_delay("acme/s0", slot, 45.0)
    assert all(0 <= d < 45.0 for d in delays)
    assert 20 < statistics.mean(delays) < 25
    assert max(delays) - min(delays) > 40
