"""Which stacks a tick checks, chosen in the database: the due slot of each distinct
(schedules, override) pair, stacks already at that slot, deleted ones and stacks without a
schedule left out; the check's facts (pool, last applied commit, branch) come along."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.drift import due
from orchestrator.models import Repository, Stack, StackOutputs

TICK = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)
NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HALF_PAST_ELEVEN = datetime(2026, 11, 30, 11, 30, tzinfo=UTC)


def _stacks(db: Session, rows: dict[str, dict[str, Any]]) -> None:
    db.add(
        Repository(
            id=1,
            name="acme/p",
            clone_url="file:///x",
            branch="trunk",
            provider="github",
            webhook_secret_enc=b"x",
        )
    )
    for name, fields in rows.items():
        db.add(Stack(id=f"acme/p/{name}", repository_id=1, path=name, name=name, **fields))
    db.flush()


def test_only_stacks_with_a_slot_due_now_and_not_yet_checked_are_chosen(db: Session) -> None:
    hourly, quiet = ["0 * * * *"], ["7 * * * *"]
    _stacks(
        db,
        {
            "due": {"drift_schedules": hourly},
            "checked": {"drift_schedules": hourly, "last_drift_slot": NOON},
            "older-slot": {"drift_schedules": hourly, "last_drift_slot": HALF_PAST_ELEVEN},
            "not-now": {"drift_schedules": quiet},
            "overridden-off": {"drift_schedules": hourly, "drift_override": {"schedules": []}},
            "overridden-on": {"drift_schedules": quiet, "drift_override": {"schedules": hourly}},
            "reconcile-only": {"drift_schedules": hourly, "drift_override": {"reconcile": True}},
            "deleted": {"drift_schedules": hourly, "deleted": True},
            "none": {},
            "pool": {"drift_schedules": ["*/5 * * * *", "7 * * * *"], "worker_pool": "big"},
        },
    )
    db.add(
        StackOutputs(
            stack_id="acme/p/due", run_id=1, commit_sha="c" * 40, plain={}, sensitive_names=[]
        )
    )
    db.flush()
    found = {d.stack_id.removeprefix("acme/p/"): d for d in due.due_now(db, TICK)}
    assert sorted(found) == ["due", "older-slot", "overridden-on", "pool", "reconcile-only"]
    assert all(d.slot == NOON and d.branch == "trunk" for d in found.values())
    assert (found["due"].commit_sha, found["older-slot"].commit_sha) == ("c" * 40, None)
    assert found["pool"].worker_pool == "big"


def test_nothing_is_due_between_slots(db: Session) -> None:
    _stacks(db, {"hourly": {"drift_schedules": ["0 * * * *"]}})
    assert due.due_now(db, datetime(2026, 11, 30, 12, 30, tzinfo=UTC)) == []
