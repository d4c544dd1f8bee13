"""Notifications on an in-memory database: who gets which event, signatures, retries with
backoff, and a target disabled after a delivery fails every attempt."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import NotificationDelivery, NotificationTarget
from orchestrator.notifications import messages, service
from orchestrator.runs import service as runs
from orchestrator.runstate import RunKind, RunState
from orchestrator.settings import get_settings
from tests.unit.rows import add_stack

SECRET = "a-signing-secret-of-16+"


@pytest.fixture(autouse=True)
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()


def _target(db: Session, events: list[str], repository_id: int | None = None) -> int:
    made = service.create_target(db, "http://127.0.0.1:9/hook", events, SECRET, repository_id, "t")
    assert isinstance(made, NotificationTarget)
    return made.id


def test_a_target_gets_only_its_events_of_its_repository_or_all_when_global(db: Session) -> None:
    add_stack(db)
    mine = _target(db, ["drift.detected"], repository_id=1)
    everyone = _target(db, ["drift.detected", "run.failed"])
    elsewhere = _target(db, ["drift.detected"], repository_id=2)
    assert service.enqueue(db, "drift.detected", 1, "t", {}) == 2
    assert service.enqueue(db, "run.failed", 1, "t", {}) == 1
    targets = sorted(d.target_id for d in db.scalars(select(NotificationDelivery)))
    assert targets == sorted([mine, everyone, everyone]) and elsewhere not in targets


def test_a_bad_url_unknown_event_or_short_secret_is_refused(db: Session) -> None:
    assert service.create_target(db, "ftp://x/y", ["run.failed"], SECRET, None, "t") == (
        service.TargetRefused(422, "notification url must be http(s)://…, not 'ftp://x/y'")
    )
    refused = service.create_target(db, "http://h/x", ["run.exploded"], SECRET, None, "t")
    assert isinstance(refused, service.TargetRefused) and "run.exploded" in refused.reason
    short = service.create_target(db, "http://h/x", ["run.failed"], "short", None, "t")
    assert isinstance(short, service.TargetRefused) and "16 characters" in short.reason


def test_a_claimed_delivery_is_signed_and_not_claimed_twice(db: Session) -> None:
    _target(db, ["drift.detected"])
    service.enqueue(db, "drift.detected", None, "drift!", {"stack": "s"})
    now = datetime.now(UTC)
    (outgoing,) = service.claim_due(db, now + timedelta(seconds=1))
    expected = "sha256=" + hmac.new(SECRET.encode(), outgoing.payload, hashlib.sha256).hexdigest()
    assert outgoing.signature == expected
    assert service.claim_due(db, now + timedelta(seconds=2)) == []


def test_a_failing_receiver_is_retried_with_backoff_then_its_target_disabled(
    db: Session,
) -> None:
    target_id = _target(db, ["run.failed"])
    service.enqueue(db, "run.failed", None, "failed", {})
    moment = datetime.now(UTC) + timedelta(seconds=1)
    for attempt in (1, 2):
        (outgoing,) = service.claim_due(db, moment)
        service.record(db, outgoing.delivery_id, "the receiver answered 500", moment, 10.0, 3)
        delivery = db.get(NotificationDelivery, outgoing.delivery_id)
        assert delivery is not None and delivery.status == "pending"
        wait = delivery.next_attempt_at.replace(tzinfo=UTC) - moment
        assert wait == timedelta(seconds=10.0 * 2 ** (attempt - 1))
        assert service.claim_due(db, moment) == []
        moment += wait
    (outgoing,) = service.claim_due(db, moment)
    service.record(db, outgoing.delivery_id, "the receiver answered 500", moment, 10.0, 3)
    target = db.get(NotificationTarget, target_id)
    assert target is not None and not target.enabled
    assert "failed 3 times, last: the receiver answered 500" in target.disabled_reason
    assert service.enqueue(db, "run.failed", None, "again", {}) == 0


def test_run_states_people_hear_about_and_drift_runs_that_stay_quiet() -> None:
    assert messages.run_event("UNCONFIRMED", "TRACKED") == "run.needs_approval"
    assert messages.run_event("FAILED", "TRACKED") == "run.failed"
    assert messages.run_event("FINISHED", "PROPOSED") == "run.finished"
    assert messages.run_event("PLANNING", "TRACKED") is None
    assert messages.run_event("FINISHED", "DRIFT") is None


def test_the_body_carries_slack_text() -> None:
    body = messages.body("drift.detected", 3, "t", "hello", {"stack": "s"})
    assert body.startswith(b'{"at": "t", "delivery": 3, "event": "drift.detected"')
    assert b'"text": "hello"' in body


def _queued_run(db: Session, kind: RunKind) -> int:
    run = runs.create_run(
        db,
        runs.NewRun(
            stack_id="acme/p/vpc",
            kind=kind,
            commit_sha="a" * 40,
            branch="main",
            triggered_by="push:dev",
        ),
    )
    assert run is not None
    return run.id


def test_a_run_that_fails_is_announced_once_to_the_targets_that_want_it(db: Session) -> None:
    add_stack(db)
    _target(db, ["run.failed"], repository_id=1)
    _target(db, ["run.finished"])
    run_id = _queued_run(db, RunKind.TRACKED)
    runs.transition(db, run_id, RunState.CANCELED, actor="t")
    assert db.scalars(select(NotificationDelivery)).all() == []
    other = _queued_run(db, RunKind.PROPOSED)
    runs.transition(db, other, RunState.PREPARING, actor="t")
    runs.transition(db, other, RunState.FAILED, actor="t", failure_reason="boom")
    (delivery,) = db.scalars(select(NotificationDelivery)).all()
    assert delivery.event == "run.failed"
    assert delivery.detail["run"]["id"] == other and delivery.detail["run"]["reason"] == "boom"
    assert delivery.text == f"stackrun: run {other} of acme/p/vpc at aaaaaaaaaaaa failed: boom"


def test_a_drift_run_finishing_is_not_announced_as_a_run(db: Session) -> None:
    add_stack(db)
    _target(db, ["run.finished"])
    run_id = _queued_run(db, RunKind.DRIFT)
    for state in (RunState.PREPARING, RunState.INITIALIZING, RunState.PLANNING, RunState.FINISHED):
        runs.transition(db, run_id, state, actor="t")
    assert db.scalars(select(NotificationDelivery)).all() == []
