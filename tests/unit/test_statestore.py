"""Managed Terraform state: locks, writes under a lock, every version kept (SQLite in memory)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from orchestrator import statestore
from orchestrator.models import Base, StateLock, StateVersion
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


HOLDER = {"ID": "lock-a", "Who": "alice@build-7", "Operation": "OperationTypeApply", "Info": "x"}


def test_a_second_lock_learns_only_which_run_holds_it(session: Session) -> None:
    held = statestore.lock(session, "acme/p/vpc", dict(HOLDER), run_id=1)
    assert not isinstance(held, statestore.StateRefusal)
    refused = statestore.lock(session, "acme/p/vpc", {"ID": "lock-b", "Who": "run-2"}, run_id=2)
    assert isinstance(refused, statestore.StateRefusal)
    assert refused.status == 423
    assert refused.body == {"ID": "locked by run 1"}
    assert "lock-a" not in refused.reason and "alice" not in refused.reason


def test_relocking_with_the_same_id_is_idempotent_for_its_run_only(session: Session) -> None:
    statestore.lock(session, "acme/p/vpc", {"ID": "lock-a"}, run_id=1)
    again = statestore.lock(session, "acme/p/vpc", {"ID": "lock-a"}, run_id=1)
    assert not isinstance(again, statestore.StateRefusal)
    stolen = statestore.lock(session, "acme/p/vpc", {"ID": "lock-a"}, run_id=2)
    assert isinstance(stolen, statestore.StateRefusal) and stolen.status == 423


@pytest.mark.parametrize(
    ("lock_id", "run_id"), [("lock-b", 1), ("lock-a", 2), ("lock-a", None), ("", 1)]
)
def test_only_the_holder_releases_a_lock(
    session: Session, lock_id: str, run_id: int | None
) -> None:
    statestore.lock(session, "acme/p/vpc", dict(HOLDER), run_id=1)
    refused = statestore.unlock(session, "acme/p/vpc", {"ID": lock_id}, run_id)
    assert isinstance(refused, statestore.StateRefusal)
    assert (refused.status, refused.body) == (423, {"ID": "locked by run 1"})
    held = session.get(StateLock, "acme/p/vpc")
    assert held is not None and (held.lock_id, held.run_id, held.info) == ("lock-a", 1, HOLDER)
    assert statestore.unlock(session, "acme/p/vpc", {"ID": "lock-a"}, run_id=1) is None
    assert session.get(StateLock, "acme/p/vpc") is None


def test_the_lock_rule_allows_exactly_the_same_id_and_run() -> None:
    held = StateLock(stack_id="s", lock_id="lock-a", info={}, run_id=4)
    assert statestore.holder_refusal("s", held, "lock-a", 4) is None
    for lock_id, run_id in (("lock-a", 5), ("lock-b", 4), ("lock-a", None)):
        refused = statestore.holder_refusal("s", held, lock_id, run_id)
        assert refused is not None and refused.body == {"ID": "locked by run 4"}


@pytest.mark.parametrize(("lock_id", "run_id"), [(None, 1), ("lock-a", 2)])
def test_a_write_by_anyone_but_the_holder_is_refused_while_locked(
    session: Session, lock_id: str | None, run_id: int
) -> None:
    statestore.lock(session, "acme/p/vpc", dict(HOLDER), run_id=1)
    refused = statestore.save(session, "acme/p/vpc", _state(1), lock_id, run_id=run_id)
    assert isinstance(refused, statestore.StateRefusal)
    assert refused.status == 409 and refused.body is None
    assert refused.reason == "state of acme/p/vpc is locked by run 1"
    assert session.scalars(select(StateVersion)).all() == []


def test_every_version_is_kept_and_latest_is_the_newest(session: Session) -> None:
    statestore.lock(session, "acme/p/vpc", {"ID": "lock-a"}, run_id=7)
    for serial in (1, 2, 3):
        saved = statestore.save(session, "acme/p/vpc", _state(serial), "lock-a", run_id=7)
        assert isinstance(saved, StateVersion)
    assert [v.serial for v in session.scalars(select(StateVersion))] == [1, 2, 3]
    latest = statestore.latest(session, "acme/p/vpc")
    assert latest is not None and latest.serial == 3 and latest.run_id == 7


def test_state_that_is_not_json_is_refused(session: Session) -> None:
    refused = statestore.save(session, "acme/p/vpc", b"not json", None, run_id=None)
    assert isinstance(refused, statestore.StateRefusal) and refused.status == 400


@pytest.mark.parametrize(
    "content",
    [
        b'{"serial": ' + b"9" * 5_000 + b"}",
        b'{"serial": 2147483648, "lineage": "l-1"}',
        b'{"serial": -1, "lineage": "l-1"}',
        b'{"serial": true, "lineage": "l-1"}',
        b'{"serial": 1, "lineage": "' + b"l" * 101 + b'"}',
        b'{"serial": 1, "lineage": "l\\u0000"}',
    ],
)
def test_a_state_the_version_table_cannot_hold_is_refused_as_a_bad_request(
    session: Session, content: bytes
) -> None:
    refused = statestore.save(session, "acme/p/vpc", content, None, run_id=None)
    assert isinstance(refused, statestore.StateRefusal) and refused.status == 400, refused
    assert session.scalars(select(StateVersion)).all() == []


def test_a_lock_id_the_lock_table_cannot_hold_is_refused_as_a_bad_request(
    session: Session,
) -> None:
    refused = statestore.lock(session, "acme/p/vpc", {"ID": "x" * 101}, run_id=7)
    assert isinstance(refused, statestore.StateRefusal) and refused.status == 400
    assert session.get(StateLock, "acme/p/vpc") is None


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


@pytest.mark.parametrize(
    ("user", "run_id"),
    [
        ("run-1", 1),
        ("run-2147483647", 2147483647),
        ("run-2147483648", None),
        ("run-999999999999999999999", None),
        ("run-0", None),
        ("run-007", None),
        ("run-²", None),
        ("run-\u0661", None),  # ARABIC-INDIC DIGIT ONE: isdigit(), yet no id
        ("run-1 ", None),
        ("runner-1", None),
    ],
)
def test_a_run_user_names_a_run_only_with_ascii_digits_in_the_database_range(
    user: str, run_id: int | None
) -> None:
    assert statestore.run_id_of(user) == run_id


def test_a_credential_naming_a_run_past_the_database_range_finds_none(session: Session) -> None:
    found = statestore.run_for_credential(session, "acme/p/vpc", "run-99999999999999999999", "x")
    assert found is None
