"""A newer push discards the older waiting tracked runs of its stacks (runs/supersede.py), read
for all of its stacks at once: each older run names the run of its own stack that superseded
it; runs of the same commit are left alone."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orchestrator.models import Pipeline, Run, RunTransition, Stack
from orchestrator.runs import service, supersede
from orchestrator.runstate import RunKind, RunState
from tests.unit.rows import add_stack


def _pipeline(db: Session, sha: str) -> tuple[int, int]:
    pipeline = Pipeline(repository_id=1, commit_sha=sha, branch="main")
    db.add(pipeline)
    db.flush()
    ids = []
    for stack_id, upstreams in (("acme/p/vpc", ()), ("acme/p/eks", tuple(ids))):
        new = service.NewRun(
            stack_id,
            RunKind.TRACKED,
            sha,
            "main",
            "push:dev",
            pipeline.id,
            upstream_run_ids=upstreams,
        )
        run = service.create_run(db, new)
        assert run is not None
        ids.append(run.id)
    return ids[0], ids[1]


def _reason(db: Session, run_id: int) -> tuple[str, str]:
    run = db.get(Run, run_id, populate_existing=True)
    assert run is not None
    last = db.query(RunTransition).filter_by(run_id=run_id).order_by(RunTransition.id.desc())
    return run.state, last.first().reason  # type: ignore[union-attr]


def test_a_newer_push_discards_the_older_runs_of_its_stacks_naming_their_successor(
    db: Session,
) -> None:
    add_stack(db)
    db.add(Stack(id="acme/p/eks", repository_id=1, path="eks", name="eks"))
    old_vpc, old_eks = _pipeline(db, "a" * 40)
    new_vpc, new_eks = _pipeline(db, "b" * 40)

    supersede.supersede(db, [new_vpc, new_eks])

    assert _reason(db, old_vpc) == (RunState.DISCARDED, f"superseded by run {new_vpc}")
    assert _reason(db, old_eks) == (RunState.DISCARDED, f"superseded by run {new_eks}")
    assert _reason(db, new_vpc)[0] == _reason(db, new_eks)[0] == RunState.QUEUED


def test_runs_of_the_same_commit_are_never_superseded(db: Session) -> None:
    add_stack(db)
    db.add(Stack(id="acme/p/eks", repository_id=1, path="eks", name="eks"))
    first = _pipeline(db, "a" * 40)
    assert supersede.supersede(db, list(first)) == []
    assert {_reason(db, i)[0] for i in first} == {RunState.QUEUED}
