"""Which stacks a tick checks, chosen in the database: the due slot of each distinct
(schedules, override) pair, stacks with a check at that slot or a later one, deleted ones and
stacks without a schedule left out; the last applied commit comes along."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.drift import due
from orchestrator.models import DriftCheck, Repository, Stack, StackOutputs

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
            "checked": {"drift_schedules": hourly},
            "checked-later": {"drift_schedules": hourly},
            "older-slot": {"drift_schedules": hourly},
            "not-now": {"drift_schedules": quiet},
            "overridden-off": {"drift_schedules": hourly, "drift_override": {"schedules": []}},
            "overridden-on": {"drift_schedules": quiet, "drift_override": {"schedules": hourly}},
            "reconcile-only": {"drift_schedules": hourly, "drift_override": {"reconcile": True}},
            "deleted": {"drift_schedules": hourly, "deleted": True},
            "none": {},
            "pool": {"drift_schedules": ["*/5 * * * *", "7 * * * *"], "worker_pool": "big"},
        },
    )
    checks = {"checked": NOON, "checked-later": TICK, "older-slot": HALF_PAST_ELEVEN}
    for name, slot in checks.items():
        db.add(DriftCheck(stack_id=f"acme/p/{name}", slot=slot, status="no_drift"))
    db.add(
        StackOutputs(
            stack_id="acme/p/due", run_id=1, commit_sha="c" * 40, plain={}, sensitive_names=[]
        )
    )
    db.flush()
    found = {row.stack_id.removeprefix("acme/p/"): row for row in _due(db, TICK)}
    assert sorted(found) == ["due", "older-slot", "overridden-on", "pool", "reconcile-only"]
    assert all(row.slot.replace(tzinfo=UTC) == NOON for row in found.values())
    assert (found["due"].commit_sha, found["older-slot"].commit_sha) == ("c" * 40, None)


def test_nothing_is_due_between_slots(db: Session) -> None:
    _stacks(db, {"hourly": {"drift_schedules": ["0 * * * *"]}})
    assert due.due_pairs(db, datetime(2026, 11, 30, 12, 30, tzinfo=UTC)) == []


def test_a_stack_asked_for_by_hand_is_given_its_slot_even_when_checked(db: Session) -> None:
    _stacks(db, {"hand": {"drift_schedules": ["0 * * * *"]}, "other": {}})
    db.add(DriftCheck(stack_id="acme/p/hand", slot=NOON, status="no_drift"))
    db.flush()
    (row,) = db.execute(due.stacks_given({"acme/p/hand": TICK})).all()
    assert (row.stack_id, row.slot.replace(tzinfo=UTC), row.commit_sha) == (
        "acme/p/hand",
        TICK,
        None,
    )


def _due(db: Session, now: datetime) -> list[Any]:
    return list(db.execute(due.stacks_due(due.due_pairs(db, now))).all())
