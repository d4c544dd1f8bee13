"""Deliveries stored together: one row per delivery id, refusals apart, doorbells as needed."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from orchestrator import db as database
from orchestrator import repos
from orchestrator.models import Event
from orchestrator.settings import Settings
from orchestrator.webhooks import groupcommit
from orchestrator.webhooks.github import sign
from tests.unit.webhooks.lines import BODY, SECRET, kept_line


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    monkeypatch.setattr("orchestrator.secrets.crypto.get_settings", lambda: settings)


@pytest.fixture
def repository_id(db: Session) -> int:
    registered = repos.register(
        db,
        name="acme/p",
        clone_url="https://git.example.com/acme/p.git",
        branch="main",
        provider="github",
        secret=SECRET,
    )
    assert not isinstance(registered, repos.RepositoryRefused), registered
    db.commit()
    return registered.id


def _delivery(delivery_id: str, secret: str = SECRET) -> groupcommit.Delivery:
    headers = {
        "x-github-event": "push",
        "x-github-delivery": delivery_id,
        "x-hub-signature-256": sign(secret, BODY),
    }
    return groupcommit.Delivery("github", headers, BODY, contextvars.copy_context())


def _events(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Event)) or 0)


def test_a_delivery_sent_twice_in_one_batch_is_one_event(db: Session, repository_id: int) -> None:
    batch = [_delivery("d-1"), _delivery("d-1"), _delivery("d-2")]
    outcomes, newest = groupcommit._store_all(db, batch)
    db.commit()
    assert [o.status for o in outcomes] == [202, 200, 202]
    assert outcomes[1].body == {"status": "duplicate", "delivery_id": "d-1"}
    assert _events(db) == 2
    assert newest == {repository_id: outcomes[2].event_id}


def test_a_delivery_stored_by_an_earlier_batch_is_a_duplicate(
    db: Session, repository_id: int
) -> None:
    groupcommit._store_all(db, [_delivery("d-1")])
    db.commit()
    outcomes, newest = groupcommit._store_all(db, [_delivery("d-1")])
    assert [o.body["status"] for o in outcomes] == ["duplicate"]
    assert newest == {}
    assert _events(db) == 1


def test_a_refused_delivery_stores_nothing_and_the_others_are_stored(
    db: Session, repository_id: int
) -> None:
    outcomes, _ = groupcommit._store_all(db, [_delivery("bad", "not-it"), _delivery("good")])
    db.commit()
    assert [o.status for o in outcomes] == [401, 202]
    assert db.scalars(select(Event.delivery_id)).all() == ["good"]


def test_a_repository_is_rung_for_again_only_once_its_last_doorbell_was_answered(
    db: Session, repository_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rung: list[int] = []
    monkeypatch.setattr(groupcommit, "ring", lambda task, event_id: rung.append(event_id) or True)
    monkeypatch.setattr(groupcommit, "_RUNG", {})
    first = groupcommit._store_all(db, [_delivery("d-1")])[1]
    db.commit()
    groupcommit._ring(first, groupcommit.still_waiting(db, first))
    second = groupcommit._store_all(db, [_delivery("d-2")])[1]
    db.commit()
    # d-1 still waits: the worker answering its doorbell will take d-2 as well
    groupcommit._ring(second, groupcommit.still_waiting(db, second))
    assert rung == [first[repository_id]]
    db.execute(update(Event).where(Event.delivery_id == "d-1").values(status="processing"))
    db.commit()
    groupcommit._ring(second, groupcommit.still_waiting(db, second))
    assert rung == [first[repository_id], second[repository_id]]


def test_a_batch_stores_each_body_as_sent_and_reads_back_the_document(
    db: Session, repository_id: int
) -> None:
    spaced = BODY.replace(b'": ', b'":   ')  # the body's own text, not a serialisation of it
    headers = {
        "x-github-event": "push",
        "x-github-delivery": "d-spaced",
        "x-hub-signature-256": sign(SECRET, spaced),
    }
    delivery = groupcommit.Delivery("github", headers, spaced, contextvars.copy_context())
    groupcommit._store_all(db, [delivery, _delivery("d-1")])
    db.commit()
    stored = db.execute(text("SELECT payload FROM events WHERE delivery_id = 'd-spaced'"))
    assert stored.scalar_one() == spaced.decode()
    event = db.scalars(select(Event).where(Event.delivery_id == "d-spaced")).one()
    assert event.payload == json.loads(BODY)


def test_a_body_in_utf16_is_stored_as_the_document_it_holds(
    db: Session, repository_id: int
) -> None:
    """json.loads reads UTF-16; no JSON column takes those bytes as text, so the parsed
    document is stored (serialised) instead."""
    body = BODY.decode().encode("utf-16")
    headers = {
        "x-github-event": "push",
        "x-github-delivery": "d-16",
        "x-hub-signature-256": sign(SECRET, body),
    }
    delivery = groupcommit.Delivery("github", headers, body, contextvars.copy_context())
    outcomes, _ = groupcommit._store_all(db, [delivery])
    db.commit()
    assert [o.status for o in outcomes] == [202]
    event = db.scalars(select(Event).where(Event.delivery_id == "d-16")).one()
    assert event.payload == json.loads(BODY)


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_body_holding_nan_or_infinity_is_422_and_stores_nothing(
    db: Session, repository_id: int, constant: bytes
) -> None:
    """Python reads them; PostgreSQL's JSON refuses them (the insert failed: a 500)."""
    body = BODY.replace(b'"refs/heads/main"', b'"refs/heads/main", "n": ' + constant)
    headers = {
        "x-github-event": "push",
        "x-github-delivery": "d-nan",
        "x-hub-signature-256": sign(SECRET, body),
    }
    delivery = groupcommit.Delivery("github", headers, body, contextvars.copy_context())
    outcomes, _ = groupcommit._store_all(db, [delivery])
    assert outcomes[0].status == 422
    assert "no JSON number" in outcomes[0].body["detail"]
    assert _events(db) == 0


@pytest.fixture
def kept(own_database: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[groupcommit.Line]:
    """A Line over the settings' own database (a file in tmp_path), with one repository."""
    monkeypatch.setattr(groupcommit, "ring", lambda task, event_id: True)
    with kept_line() as line:
        yield line


def test_batches_share_the_kept_connection_and_one_that_fails_is_stored_one_by_one(
    kept: groupcommit.Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = groupcommit.store_batch([_delivery("d-1")], kept).outcomes
    connection = _connection(kept)
    assert groupcommit.store_batch([_delivery("d-2")], kept).outcomes[0].status == 202
    assert _connection(kept) is connection
    real = groupcommit._store_all
    monkeypatch.setattr(groupcommit, "_store_all", _fails)
    failed = groupcommit.store_batch([_delivery("d-3"), _delivery("d-1")], kept).outcomes
    monkeypatch.setattr(groupcommit, "_store_all", real)
    after = groupcommit.store_batch([_delivery("d-4")], kept).outcomes
    assert [o.status for o in first + failed + after] == [202, 202, 200, 202]
    assert _connection(kept) is not connection  # the failed one was dropped
    assert _stored() == ["d-1", "d-2", "d-3", "d-4"]


def test_a_batch_answered_is_committed_whatever_the_kept_connection_does_next(
    kept: groupcommit.Line,
) -> None:
    """The batch's INSERT is its own transaction: nothing left open on the connection can
    take it back."""
    assert groupcommit.store_batch([_delivery("d-1")], kept).outcomes[0].status == 202
    session = kept.session()
    session.execute(text("DELETE FROM events"))  # no commit follows: autocommit
    assert _stored() == []
    session.close()
    assert groupcommit.store_batch([_delivery("d-2")], kept).outcomes[0].status == 202
    kept.session().connection().rollback()
    assert _stored() == ["d-2"]


def test_a_delivery_is_answered_before_its_doorbell_rings_and_it_rings_with_nothing_after(
    kept: groupcommit.Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = threading.Event()
    rung: list[tuple[int, bool]] = []

    def ring(task: str, event_id: int) -> bool:
        rung.append((event_id, answered.wait(10)))  # True: the answer did not wait for it
        return True

    monkeypatch.setattr(groupcommit, "ring", ring)
    monkeypatch.setattr(groupcommit, "_RUNG", {})

    async def deliver() -> groupcommit.Outcome:
        writer = groupcommit.GroupCommit()
        outcome = await writer.submit(_delivery("d-1"))
        answered.set()
        if writer._writer is not None:  # the doorbell still to ring
            await writer._writer
        return outcome

    outcome = asyncio.run(deliver())
    assert outcome.status == 202
    assert rung == [(outcome.event_id, True)]


def _stored() -> list[str]:
    """The delivery ids stored, as another connection sees them."""
    with database.session_scope() as session:
        return list(session.scalars(select(Event.delivery_id).order_by(Event.id)))


def _connection(line: groupcommit.Line) -> object:
    with line.session() as session:
        return session.connection()


def _fails(session: Session, deliveries: object) -> None:
    raise OperationalError("INSERT", {}, Exception("the connection broke"))
