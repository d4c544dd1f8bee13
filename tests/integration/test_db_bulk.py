"""Bulk inserts and updates through unnest on a real PostgreSQL: order, constants, JSON,
skipped conflicts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy import Table, create_engine, select
from sqlalchemy.orm import Session

from orchestrator.db import insert_many, update_many
from orchestrator.migrate import upgrade
from orchestrator.models import DriftCheck, Repository, Stack
from tests.integration.conftest import fresh_postgres_database

pytestmark = pytest.mark.integration
SLOT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def session() -> Iterator[Session]:
    with fresh_postgres_database() as url:
        upgrade(url)
        engine = create_engine(url)
        with Session(engine) as db:
            db.add(
                Repository(
                    id=1,
                    name="acme/p",
                    clone_url="file:///x",
                    branch="main",
                    provider="github",
                    webhook_secret_enc=b"x",
                )
            )
            for name in ("a", "b", "c"):
                db.add(Stack(id=f"acme/p/{name}", repository_id=1, path=name, name=name))
            db.commit()
            yield db
        engine.dispose()


def _check(stack: str, resources: list[dict[str, str]]) -> dict[str, object]:
    return {
        "stack_id": stack,
        "slot": SLOT,
        "status": "queued",
        "resources": resources,
        "reason": "",
        "created_at": SLOT,
    }


def test_rows_come_back_in_order_with_constants_json_and_conflicts_skipped(
    session: Session,
) -> None:
    table = cast(Table, DriftCheck.__table__)
    first = insert_many(
        session,
        table,
        [_check("acme/p/b", [{"address": 'x["q"]'}]), _check("acme/p/a", [])],
        ["stack_id", "id"],
        ["stack_id", "slot"],
    )
    assert [row.stack_id for row in first] == ["acme/p/b", "acme/p/a"]
    again = insert_many(
        session,
        table,
        [_check("acme/p/a", []), _check("acme/p/c", [])],
        ["stack_id", "id"],
        ["stack_id", "slot"],
    )
    assert [row.stack_id for row in again] == ["acme/p/c"]
    stored = {c.stack_id: c for c in session.scalars(select(DriftCheck))}
    assert stored["acme/p/b"].resources == [{"address": 'x["q"]'}]
    assert stored["acme/p/b"].slot == SLOT


def test_update_many_sets_each_row_by_id_including_a_single_row(session: Session) -> None:
    table = cast(Table, Stack.__table__)
    update_many(
        session,
        table,
        [
            {"id": "acme/p/a", "drift_status": "drifted", "drift_schedules": ["0 * * * *"]},
            {"id": "acme/p/b", "drift_status": "no_drift", "drift_schedules": ["0 * * * *"]},
        ],
    )
    update_many(session, table, [{"id": "acme/p/c", "drift_status": "skipped"}])
    found = {s.id: (s.drift_status, s.drift_schedules) for s in session.scalars(select(Stack))}
    assert found == {
        "acme/p/a": ("drifted", ["0 * * * *"]),
        "acme/p/b": ("no_drift", ["0 * * * *"]),
        "acme/p/c": ("skipped", []),
    }
