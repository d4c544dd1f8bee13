"""The worker door's claims (orchestrator/worker_api): a claim hands the worker the run's
inputs and a credential of the run's own in one transaction; an autodeploy applying in the
planning workspace keeps the credential that workspace's terraform holds."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from orchestrator import db as database
from orchestrator import statestore, worker_api
from orchestrator.models import Run
from orchestrator.runstate import RunState
from tests.unit.rows import queued_run


@pytest.fixture
def run_id(own_database: None) -> int:
    """A QUEUED tracked run of acme/p/vpc (folder vpc) in a SQLite file of the test's own."""
    with database.session_scope() as session:
        return queued_run(session)


def _owns(run_id: int, credential: str) -> bool:
    with database.session_scope() as session:
        found = statestore.run_for_credential(session, "acme/p/vpc", f"run-{run_id}", credential)
        return found is not None


def _stored_hash(run_id: int) -> str | None:
    with database.session_scope() as session:
        return session.scalar(select(Run.state_credential_hash).where(Run.id == run_id))


def test_a_plan_claim_gives_the_inputs_and_a_credential_only_the_run_owns(run_id: int) -> None:
    inputs = worker_api.claim_for_plan(run_id, lease_seconds=60)
    assert inputs is not None
    assert (inputs.run_id, inputs.stack_id, inputs.managed_state) == (run_id, "acme/p/vpc", True)
    assert inputs.credential and _owns(run_id, inputs.credential)
    assert _stored_hash(run_id) == hashlib.sha256(inputs.credential.encode()).hexdigest()
    assert inputs.credential not in repr(inputs)
    with database.session_scope() as session:
        assert session.get(Run, run_id).state == RunState.PREPARING  # type: ignore[union-attr]


def test_a_run_that_is_not_queued_is_not_claimed_and_gets_no_credential(run_id: int) -> None:
    assert worker_api.claim_for_plan(run_id, lease_seconds=60) is not None
    before = _stored_hash(run_id)
    assert worker_api.claim_for_plan(run_id, lease_seconds=60) is None
    assert _stored_hash(run_id) == before


def _confirm(run_id: int) -> None:
    with database.session_scope() as session:
        session.execute(
            Run.__table__.update().where(Run.id == run_id).values(state=RunState.CONFIRMED)
        )


def test_an_autodeploy_in_the_planning_workspace_keeps_the_plans_credential(
    run_id: int,
) -> None:
    planned = worker_api.claim_for_plan(run_id, lease_seconds=60)
    assert planned is not None
    _confirm(run_id)
    applying = worker_api.claim_for_apply(run_id, lease_seconds=60, in_planning_workspace=True)
    assert applying is not None and applying.credential == ""
    assert _owns(run_id, planned.credential)


def test_an_apply_task_of_its_own_gets_a_new_credential_and_the_plans_stops_working(
    run_id: int,
) -> None:
    planned = worker_api.claim_for_plan(run_id, lease_seconds=60)
    assert planned is not None
    _confirm(run_id)
    applying = worker_api.claim_for_apply(run_id, lease_seconds=60)
    assert applying is not None and applying.credential not in ("", planned.credential)
    assert _owns(run_id, applying.credential)
    assert not _owns(run_id, planned.credential)
