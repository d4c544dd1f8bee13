"""A push stored while a worker claimed and processed its repository's pushes, whose doorbell
the intake held back (the push it had rung for still looked waiting, webhooks/groupcommit),
is rung for by that worker before it plans, instead of waiting for the reaper."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from orchestrator import db as database
from orchestrator.models import Event
from orchestrator.runs import pushes
from orchestrator.runs.pushes import Handled
from orchestrator.worker_api import tasks
from tests.unit.rows import add_stack


@pytest.fixture
def rung(own_database: None, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Repository acme/p in a SQLite file of the test's own; the doorbells rung."""
    with database.session_scope() as session:
        add_stack(session)
    bells: list[tuple[str, int]] = []
    monkeypatch.setattr(tasks, "ring", lambda task, *ids, **_: bells.extend((task, i) for i in ids))
    monkeypatch.setattr(tasks, "ring_all", lambda _bells: None)
    monkeypatch.setattr(pushes, "handle", lambda *_args, **_kw: Handled([]))
    return bells


def _push(session: Session, number: int) -> int:
    event = Event(
        provider="github",
        delivery_id=f"d-{number}",
        event_type="push",
        repository_id=1,
        ref="refs/heads/dev",
        before_sha=f"{number}" * 40,
        after_sha=f"{number + 1}" * 40,
        payload={},
    )
    session.add(event)
    session.flush()
    return event.id


def test_a_push_stored_after_the_claim_is_rung_for_before_the_worker_plans(
    rung: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.session_scope() as session:
        first = _push(session, 1)
    late: list[int] = []

    def handle_while_a_push_arrives(*_args: Any, **_kw: Any) -> Handled:
        if not late:  # stored after the claim; its doorbell held back by the intake
            with database.session_scope() as other:
                late.append(_push(other, 5))
        return Handled([])

    monkeypatch.setattr(pushes, "handle", handle_while_a_push_arrives)
    tasks.process_push(first)
    assert rung == [("process_push", late[0])]
    with database.session_scope() as session:
        event = session.get(Event, late[0])
        assert event is not None and event.status == "received"


def test_nothing_is_rung_when_no_push_arrived_meanwhile(rung: list[tuple[str, int]]) -> None:
    with database.session_scope() as session:
        first = _push(session, 1)
    tasks.process_push(first)
    assert rung == []
    with database.session_scope() as session:
        event = session.get(Event, first)
        assert event is not None and event.status == "processing"
