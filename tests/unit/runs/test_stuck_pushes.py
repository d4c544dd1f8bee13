"""A push left `processing` is retried by the reaper counting from when a worker took it, not
from when it was received: a push that waited long in a backlog is not taken away from the
worker processing it, and one whose worker died is tried again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from orchestrator.models import Event, utcnow
from orchestrator.runs import reaper
from tests.unit.rows import add_stack


def _processing(db: Session, waited: timedelta, taken_ago: timedelta) -> Event:
    add_stack(db)
    now = utcnow()
    event = Event(
        provider="github",
        delivery_id=f"d-{waited}-{taken_ago}",
        event_type="push",
        repository_id=1,
        ref="refs/heads/main",
        before_sha="a" * 40,
        after_sha="b" * 40,
        payload={},
        status="processing",
        attempts=1,
        received_at=now - waited - taken_ago,
        claimed_at=now - taken_ago,
    )
    db.add(event)
    db.flush()
    return event


def test_a_push_taken_a_moment_ago_after_a_long_backlog_is_left_to_its_worker(db: Session) -> None:
    event = _processing(db, waited=timedelta(hours=2), taken_ago=timedelta(seconds=5))
    bells = reaper.reap(db)
    assert event.status == "processing"
    assert event.id not in {b.target_id for b in bells if b.task == "process_push"}


def test_a_push_whose_worker_took_it_long_ago_is_tried_again(db: Session) -> None:
    taken_ago = timedelta(seconds=reaper.PUSH_PROCESSING_TIMEOUT + 60)
    event = _processing(db, waited=timedelta(seconds=1), taken_ago=taken_ago)
    bells = reaper.reap(db)
    assert event.status == "received"
    assert event.id in {b.target_id for b in bells if b.task == "process_push"}
