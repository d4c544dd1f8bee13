"""Managed Terraform state: locks, writes under a lock, every version kept (SQLite in memory)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from orchestrator import statestore
from orchestrator.models import Base, StateVersion
from tests.unit.rows import add_stack


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        add_stack(db)
        db.commit()
        yield db


def _state(serial: int) -> bytes:
    return json.dumps({"version": 4, "serial": serial, "lineage": "l-1", "resources": []}).encode()


def test_a_second_lock_is_refused_with_the_holders_info(session: Session) -> None:
    held = statestore.lock(session, "acme/p/vpc", {"ID": "lock-a", "Who": "run-1"})
    assert not isinstance(held, statestore.StateRefusal)
    refused = statestore.lock(session, "acme/p/vpc", {"ID": "lock-b", "Who": "run-2"})
    assert isinstance(refused, statestore.StateRefusal)
    assert refused.status == 423
    assert refused.body == {"ID": "lock-a", "Who": "run-1"}


def test_relocking_with_the_same_id_is_idempotent(session: Session) -> None:
    statestore.lock(session, "acme/p/vpc", {"ID": "lock-a"})
    again = statestore.lock(session, "acme/p/vpc", {"ID": "lock-a"})
    assert not isinstance(again, statestore.StateRefusal)


def test_a_write_without_the_lock_id_is_refused_while_locked(session: Session) -> None:
    statestore.lock(session, "acme/p/vpc", {"ID": "lock-a"})
    refused = statestore.save(session, "acme/p/vpc", _state(1), None, run_id=1)
    assert isinstance(refused, statestore.StateRefusal)
    assert refused.status == 409
    assert session.scalars(select(StateVersion)).all() == []


def test_every_version_is_kept_and_latest_is_the_newest(session: Session) -> None:
    statestore.lock(session, "acme/p/vpc", {"ID": "lock-a"})
    for serial in (1, 2, 3):
        saved = statestore.save(session, "acme/p/vpc", _state(serial), "lock-a", run_id=7)
        assert isinstance(saved, StateVersion)
    assert [v.serial for v in session.scalars(select(StateVersion))] == [1, 2, 3]
    latest = statestore.latest(session, "acme/p/vpc")
    assert latest is not None and latest.serial == 3 and latest.run_id == 7


def test_state_that_is_not_json_is_refused(session: Session) -> None:
    refused = statestore.save(session, "acme/p/vpc", b"not json", None, run_id=None)
    assert isinstance(refused, statestore.StateRefusal) and refused.status == 400


def test_unlock_with_another_id_is_refused_and_the_lock_stays(session: Session) -> None:
    statestore.lock(session, "acme/p/vpc", {"ID": "lock-a"})
    refused = statestore.unlock(session, "acme/p/vpc", {"ID": "lock-b"})
    assert isinstance(refused, statestore.StateRefusal) and refused.status == 409
    assert statestore.unlock(session, "acme/p/vpc", {"ID": "lock-a"}) is None
    assert not isinstance(
        statestore.lock(session, "acme/p/vpc", {"ID": "lock-c"}), statestore.StateRefusal
    )


def test_outputs_of_reads_the_outputs_of_the_state_a_run_wrote(session: Session) -> None:
    state = {
        "version": 4,
        "serial": 3,
        "lineage": "l-1",
        "resources": [],
        "outputs": {
            "vpc_id": {"value": "vpc-1", "type": "string"},
            "password": {"value": "hunter2", "type": "string", "sensitive": True},
        },
    }
    assert statestore.outputs_of(session, "acme/p/vpc", run_id=9) is None
    statestore.save(session, "acme/p/vpc", json.dumps(state).encode(), None, run_id=9)
    assert statestore.outputs_of(session, "acme/p/vpc", run_id=9) == {
        "vpc_id": {"value": "vpc-1", "type": "string", "sensitive": False},
        "password": {"value": "hunter2", "type": "string", "sensitive": True},
    }
