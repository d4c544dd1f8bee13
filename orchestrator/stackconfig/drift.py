"""The `drift_detection {}` block of a stack, checked: cron schedules (UTC) and reconcile. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from croniter import croniter


@dataclass(frozen=True)
class DriftSettings:
    schedules: tuple[str, ...]
    reconcile: bool


def invalid_schedule(schedule: str) -> str | None:
    """Why a cron expression (UTC, five fields) cannot be used, or None."""
    if not isinstance(schedule, str) or len(schedule.split()) != 5:
        return f"drift schedule {schedule!r} must be a five-field cron expression (UTC)"
    if not croniter.is_valid(schedule):
        return f"drift schedule {schedule!r} is not a valid cron expression"
    return None


def parse(block: Any) -> tuple[DriftSettings | None, list[str]]:
    """`drift_detection { schedule = "<cron>" | [...], reconcile = bool }` → settings, errors.
    Any invalid schedule drops the whole block: nothing half-configured is stored."""
    entries = [e for e in (block if isinstance(block, list) else [block]) if e]
    if not entries:
        return None, []
    entry = entries[-1] if isinstance(entries[-1], dict) else {}
    raw = entry.get("schedule")
    schedules = [raw] if isinstance(raw, str) else list(raw or [])
    errors = [e for e in (invalid_schedule(s) for s in schedules) if e]
    if not schedules:
        errors.append("drift_detection needs a schedule")
    if errors:
        return None, errors
    return DriftSettings(tuple(str(s) for s in schedules), entry.get("reconcile") is True), []
