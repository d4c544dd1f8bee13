"""A push's first run claimed in the push's own transaction is planned by the worker only once
that transaction committed: a claim that rolled back with its push (a commit that failed) is
no claim, and the run it named is not this worker's to plan."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from orchestrator import db as database
from orchestrator.graph.model import Graph, StackNode
from orchestrator.models import Run
from orchestrator.runs import bursts, pushes, service
from orchestrator.runs.pushes import Handled
from orchestrator.runs.queue import Doorbell
from orchestrator.runstate import RunState
from orchestrator.worker_api import claim, tasks
from tests.unit.rows import queued_run


@pytest.fixture
def run_id(own_database: None) -> int:
    """A QUEUED tracked run of acme/p/vpc (folder vpc) in a SQLite file of the test's own."""
    with database.session_scope() as session:
        return queued_run(session)


def _graph() -> Graph:
    return Graph({"vpc": StackNode(path="vpc", name="vpc")}, [], [], [])


def test_a_push_whose_commit_fails_hands_its_worker_no_run_to_plan(
    run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled = Handled([Doorbell("plan_run", run_id)], (run_id,), _graph())
    claims_left = [[bursts.Step(1)]]
    monkeypatch.setattr(bursts, "claim", lambda *_: claims_left.pop() if claims_left else [])
    monkeypatch.setattr(bursts, "first_waiting", lambda *_: None)

    def handle(session: Session, *_: object) -> Handled:
        service.update_run_fields(session, run_id)  # a push writes before its claim
        return handled

    monkeypatch.setattr(pushes, "handle", handle)
    monkeypatch.setattr(tasks, "ring_all", lambda _bells: None)
    claimed_in: list[Session] = []
    real_first_run = claim.first_run

    def first_run(session: Session, *args: object) -> object:
        claimed_in.append(session)
        return real_first_run(session, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(claim, "first_run", first_run)
    real_scope = database.session_scope

    @contextmanager
    def commit_fails_after_the_claim() -> Iterator[Session]:
        with real_scope() as session:
            yield session
            if session in claimed_in:  # the connection is lost as the push commits
                raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(tasks, "session_scope", commit_fails_after_the_claim)

    taken = tasks.process_push(1)

    assert claimed_in, "the push's first run was claimed in its transaction"
    assert taken is None, "a claim rolled back with its push is planned by nobody here"
    with real_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None and run.state == RunState.QUEUED
