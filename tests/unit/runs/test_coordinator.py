"""Claims and results around the workers, on an in-memory database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from orchestrator.models import Stack
from orchestrator.runs import claims, outcomes, reaper, service
from orchestrator.runstate import RunKind, RunState
from tests.unit.rows import add_stack


def _stack(db: Session, autodeploy: bool = False) -> Stack:
    return add_stack(db, autodeploy=autodeploy)


def _run(db: Session, sha: str = "a" * 40, upstreams: tuple[int, ...] = ()) -> int:
    run = service.create_run(
        db,
        service.NewRun(
            stack_id="acme/p/vpc",
            kind=RunKind.TRACKED,
            commit_sha=sha,
            branch="main",
            triggered_by="push:dev",
            upstream_run_ids=upstreams,
        ),
    )
    assert run is not None
    return run.id


def test_claim_takes_the_stack_lock_and_moves_to_preparing(db: Session) -> None:
    stack = _stack(db)
    run_id = _run(db)
    claimed = claims.claim_for_plan(db, run_id, lease_seconds=60)
    assert claimed is not None and claimed.state == RunState.PREPARING
    db.refresh(stack)
    assert stack.locked_by_run_id == run_id


def test_a_claim_that_loses_the_race_gives_the_stack_lock_back(db: Session) -> None:
    stack = _stack(db)
    run_id = _run(db)
    fired: list[bool] = []

    def discard_first(_conn: Any, cursor: Any, statement: str, *_rest: Any) -> None:
        """Just before the claim's compare-and-set, another writer discards the run."""
        if statement.startswith("UPDATE runs SET state") and not fired:
            fired.append(True)
            cursor.execute("UPDATE runs SET state = 'DISCARDED' WHERE id = ?", (run_id,))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", discard_first)
    try:
        assert claims.claim_for_plan(db, run_id, lease_seconds=60) is None
    finally:
        event.remove(engine, "before_cursor_execute", discard_first)
    assert fired
    db.refresh(stack)
    assert stack.locked_by_run_id is None


def test_a_newer_run_waits_while_an_older_one_of_the_stack_is_queued(db: Session) -> None:
    _stack(db)
    older = _run(db, "a" * 40, upstreams=(999,))
    newer = _run(db, "b" * 40)
    assert claims.claim_for_plan(db, newer, lease_seconds=60) is None
    assert claims.claim_for_plan(db, older, lease_seconds=60) is None


def test_output_only_changes_still_need_an_apply(db: Session) -> None:
    _stack(db)
    run_id = _run(db)
    assert claims.claim_for_plan(db, run_id, lease_seconds=60) is not None
    claims.move(db, run_id, RunState.INITIALIZING, RunState.PREPARING, "init")
    claims.move(db, run_id, RunState.PLANNING, RunState.INITIALIZING, "plan")
    zero = {"add": 0, "change": 0, "destroy": 0}
    outcomes.plan_done(db, run_id, zero, [], "f" * 64, outputs=["vpc_id"])
    assert service.transition(db, run_id, RunState.CONFIRMED, actor="t").source == (
        RunState.UNCONFIRMED
    )


def _planned(db: Session, needs_human: bool, approved: bool) -> tuple[int, list[Any]]:
    """An autodeploy stack's run whose plan adds one resource, with the policies' say."""
    _stack(db, autodeploy=True)
    run_id = _run(db)
    assert claims.claim_for_plan(db, run_id, lease_seconds=60) is not None
    claims.move(db, run_id, RunState.INITIALIZING, RunState.PREPARING, "init")
    claims.move(db, run_id, RunState.PLANNING, RunState.INITIALIZING, "plan")
    one = {"add": 1, "change": 0, "destroy": 0}
    bells = outcomes.plan_done(
        db, run_id, one, [], "f" * 64, needs_human=needs_human, approved=approved
    )
    return run_id, bells


def test_autodeploy_applies_when_no_policy_warned_and_the_approval_policies_approve(
    db: Session,
) -> None:
    run_id, bells = _planned(db, needs_human=False, approved=True)
    assert [(b.task, b.target_id) for b in bells] == [("apply_run", run_id)]


def test_a_plan_policy_warning_makes_an_autodeploy_run_wait_for_a_human(db: Session) -> None:
    run_id, bells = _planned(db, needs_human=True, approved=True)
    assert bells == []
    assert service.transition(db, run_id, RunState.CONFIRMED, actor="t").source == (
        RunState.UNCONFIRMED
    )


def test_approval_policies_that_do_not_approve_make_an_autodeploy_run_wait(db: Session) -> None:
    run_id, bells = _planned(db, needs_human=False, approved=False)
    assert bells == []
    assert service.transition(db, run_id, RunState.CONFIRMED, actor="t").source == (
        RunState.UNCONFIRMED
    )


def test_a_plan_whose_worker_was_lost_fails_and_is_planned_once_more(db: Session) -> None:
    from orchestrator.models import Pipeline, Run

    _stack(db)
    pipeline = Pipeline(repository_id=1, commit_sha="a" * 40, branch="main")
    db.add(pipeline)
    db.flush()
    lost = service.create_run(
        db,
        service.NewRun(
            stack_id="acme/p/vpc",
            kind=RunKind.TRACKED,
            commit_sha="a" * 40,
            branch="main",
            triggered_by="push:dev",
            pipeline_id=pipeline.id,
        ),
    )
    assert lost is not None
    db.add(Stack(id="acme/p/eks", repository_id=1, path="eks", name="eks"))
    db.flush()
    downstream = service.create_run(
        db,
        service.NewRun(
            stack_id="acme/p/eks",
            kind=RunKind.TRACKED,
            commit_sha="a" * 40,
            branch="main",
            triggered_by="push:dev",
            pipeline_id=pipeline.id,
            upstream_run_ids=(lost.id,),
        ),
    )
    assert downstream is not None
    assert claims.claim_for_plan(db, lost.id, lease_seconds=60) is not None
    service.renew_lease(db, lost.id, "w", -5)
    bells = reaper.reap(db)
    db.refresh(lost)
    assert lost.state == RunState.FAILED and lost.failure_reason == "worker_lost"
    retry = db.get(Run, max(b.target_id for b in bells if b.task == "plan_run"))
    assert retry is not None and retry.trigger_reason.startswith("attempt 2 after run")
    db.refresh(downstream)
    assert downstream.upstream_run_ids == [retry.id]
    assert downstream.state == RunState.QUEUED
    assert claims.claim_for_plan(db, retry.id, lease_seconds=60) is not None
    db.refresh(retry)
    assert retry.plan_attempts == 2
    service.renew_lease(db, retry.id, "w", -5)
    reaper.reap(db)
    assert db.get(Run, retry.id + 1) is None, "no third attempt"


def test_the_reaper_rings_a_stale_queued_run_only_when_it_could_start(db: Session) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from orchestrator.models import Run, utcnow

    _stack(db)
    blocked = _run(db, "a" * 40, upstreams=(999,))
    free = _run(db, "b" * 40)
    db.execute(update(Run).values(updated_at=utcnow() - timedelta(minutes=5)))
    rung = {b.target_id for b in reaper.reap(db) if b.task == "plan_run"}
    assert free in rung
    assert blocked not in rung


def _pipeline_run(db: Session, stack_id: str, pipeline_id: int, upstreams: tuple[int, ...]) -> int:
    run = service.create_run(
        db,
        service.NewRun(
            stack_id=stack_id,
            kind=RunKind.TRACKED,
            commit_sha="a" * 40,
            branch="main",
            triggered_by="push:dev",
            pipeline_id=pipeline_id,
            upstream_run_ids=upstreams,
        ),
    )
    assert run is not None
    return run.id


def test_a_lost_apply_ends_its_pipeline_and_keeps_its_stack_locked(db: Session) -> None:
    """vpc's apply loses its worker: vpc FAILED worker_lost, the downstream bootstrap (the
    stack that hands off) SKIPPED naming vpc's run, no hand-off; the stack lock and the state
    lock stay, so the stack's next run is not rung."""
    from orchestrator.handoff.spec import HandoffSpec, RootSpec
    from orchestrator.models import Handoff, Pipeline, Run, RunTransition, StateLock

    stack = _stack(db, autodeploy=True)
    root = RootSpec(repo_url="https://git.example.com/acme/p.git", path="boot")
    spec = HandoffSpec(repository="file:///nowhere/gitops.git", root=root).to_json()
    db.add(Stack(id="acme/p/boot", repository_id=1, path="boot", name="boot", handoff=spec))
    pipeline = Pipeline(repository_id=1, commit_sha="a" * 40, branch="main")
    db.add(pipeline)
    db.flush()
    lost = _pipeline_run(db, "acme/p/vpc", pipeline.id, ())
    boot = _pipeline_run(db, "acme/p/boot", pipeline.id, (lost,))
    assert claims.claim_for_plan(db, lost, lease_seconds=60) is not None
    claims.move(db, lost, RunState.INITIALIZING, RunState.PREPARING, "init")
    claims.move(db, lost, RunState.PLANNING, RunState.INITIALIZING, "plan")
    outcomes.plan_done(db, lost, {"add": 1, "change": 0, "destroy": 0}, [], "f" * 64)
    assert claims.claim_for_apply(db, lost, lease_seconds=60) is not None
    db.add(StateLock(stack_id="acme/p/vpc", lock_id="tf-lock", info={}, run_id=lost))
    waiting = _run(db, "b" * 40)
    service.renew_lease(db, lost, "w", -5)

    bells = reaper.reap(db)

    run = db.get(Run, lost, populate_existing=True)
    assert run is not None and run.state == RunState.FAILED
    assert run.failure_reason == "worker_lost"
    skipped = db.get(Run, boot, populate_existing=True)
    assert skipped is not None and skipped.state == RunState.SKIPPED
    why = db.scalars(select(RunTransition.reason).where(RunTransition.run_id == boot))
    assert list(why)[-1] == f"upstream run {lost} ended FAILED"
    db.refresh(stack)
    assert stack.locked_by_run_id == lost
    assert db.get(StateLock, "acme/p/vpc") is not None
    assert db.scalars(select(Handoff)).first() is None
    assert not [b for b in bells if b.task == "handoff" or b.target_id == waiting]
