"""The facts policies read of a stored run: its stack, its repository, the stack's run before
it, and whether the run is trusted by its repository's settings."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orchestrator.models import Repository, Run
from orchestrator.policy import store
from tests.unit.rows import add_stack


def _run(db: Session, run_id: int, kind: str, triggered_by: str) -> Run:
    run = Run(
        id=run_id,
        stack_id="acme/p/vpc",
        kind=kind,
        state="PLANNING",
        commit_sha=f"{run_id:040d}",
        branch="main",
        triggered_by=triggered_by,
    )
    db.add(run)
    db.flush()
    return run


def test_the_facts_of_a_run_name_its_stack_repository_and_previous_run(db: Session) -> None:
    add_stack(db, labels=["prod"], autodeploy=True, worker_pool="big")
    _run(db, 1, "TRACKED", "push:dev1")
    facts = store.facts_of(db, _run(db, 2, "TRACKED", "push:dev1"))
    assert (facts.run_id, facts.kind, facts.stack_id, facts.stack_name) == (
        2,
        "TRACKED",
        "acme/p/vpc",
        "vpc",
    )
    assert (facts.labels, facts.autodeploy, facts.worker_pool) == (("prod",), True, "big")
    assert facts.repository == "acme/p"
    assert facts.previous_run == {
        "id": 1,
        "kind": "TRACKED",
        "state": "PLANNING",
        "commit": {"sha": f"{1:040d}"},
    }
    assert facts.trusted is True


def test_a_proposed_run_is_trusted_only_when_its_repository_trusts_its_author(
    db: Session,
) -> None:
    add_stack(db)
    assert store.facts_of(db, _run(db, 1, "PROPOSED", "pr:mallory")).trusted is False
    repository = db.get(Repository, 1)
    assert repository is not None
    repository.trusted_authors = ["mallory"]
    assert store.facts_of(db, _run(db, 2, "PROPOSED", "pr:mallory")).trusted is True
