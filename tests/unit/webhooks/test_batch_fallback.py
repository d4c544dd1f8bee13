"""A batch that fails is stored again one delivery per transaction so that one bad delivery
cannot fail the others (DESIGN §11): a delivery the database refuses on its own is answered
with its own error; the deliveries beside it are stored and answered 202."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session

from orchestrator import db as database
from orchestrator import repos
from orchestrator.models import Base, Event
from orchestrator.settings import Settings, get_settings
from orchestrator.webhooks import groupcommit, intake
from orchestrator.webhooks.github import sign

SECRET = "batch-secret-1"
BODY = json.dumps(
    {
        "ref": "refs/heads/main",
        "before": "a" * 40,
        "after": "b" * 40,
        "repository": {"full_name": "acme/p"},
    }
).encode()


@pytest.fixture
def line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[groupcommit.Line]:
    """A Line over the settings' own database (a file in tmp_path), with one repository."""
    settings = Settings(data_dir=tmp_path)
    monkeypatch.setattr("orchestrator.secrets.crypto.get_settings", lambda: settings)
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(groupcommit, "ring", lambda task, event_id: True)
    for cached in (get_settings, database.get_engine, database.get_sessionmaker):
        cached.cache_clear()
    Base.metadata.create_all(database.get_engine())
    with database.session_scope() as session:
        repos.register(
            session,
            name="acme/p",
            clone_url="https://git.example.com/acme/p.git",
            branch="main",
            provider="github",
            secret=SECRET,
        )
    kept = groupcommit.Line()
    yield kept
    kept.drop()
    database.get_engine().dispose()
    for cached in (get_settings, database.get_engine, database.get_sessionmaker):
        cached.cache_clear()


def _delivery(delivery_id: str) -> groupcommit.Delivery:
    headers = {
        "x-github-event": "push",
        "x-github-delivery": delivery_id,
        "x-hub-signature-256": sign(SECRET, BODY),
    }
    return groupcommit.Delivery("github", headers, BODY, contextvars.copy_context())


def test_a_delivery_the_database_refuses_alone_fails_alone(
    line: groupcommit.Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    def batch_fails(session: Session, deliveries: object) -> None:
        raise OperationalError("INSERT", {}, Exception("a value out of range"))

    real_store = intake.store

    def store(session: Session, judged: Any) -> intake.Outcome:
        if isinstance(judged, intake.Pending) and judged.row["delivery_id"] == "d-bad":
            raise DataError("INSERT", {}, Exception("a value out of range"))
        return real_store(session, judged)

    monkeypatch.setattr(groupcommit, "_store_all", batch_fails)
    monkeypatch.setattr(intake, "store", store)

    stored = groupcommit.store_batch([_delivery("d-1"), _delivery("d-bad"), _delivery("d-2")], line)

    statuses = [outcome.status for outcome in stored.outcomes]
    assert statuses[0] == 202 and statuses[2] == 202, statuses
    assert statuses[1] >= 500, "the refused delivery is told it was not stored"
    with database.session_scope() as session:
        ids = list(session.scalars(select(Event.delivery_id).order_by(Event.id)))
    assert ids == ["d-1", "d-2"]
