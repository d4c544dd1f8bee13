"""A batch that fails is stored again one delivery per transaction so that one bad delivery
cannot fail the others (DESIGN §11): a delivery the database refuses on its own is answered
with its own error; the deliveries beside it are stored and answered 202."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session

from orchestrator import db as database
from orchestrator.models import Event
from orchestrator.settings import Settings
from orchestrator.webhooks import groupcommit, intake
from orchestrator.webhooks.github import sign
from tests.unit.webhooks.lines import BODY, SECRET, kept_line


@pytest.fixture
def line(
    own_database: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[groupcommit.Line]:
    """A Line over the settings' own database (a file in tmp_path), with one repository."""
    settings = Settings(data_dir=tmp_path)
    monkeypatch.setattr("orchestrator.secrets.crypto.get_settings", lambda: settings)
    monkeypatch.setattr(groupcommit, "ring", lambda task, event_id: True)
    with kept_line() as kept:
        yield kept


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
