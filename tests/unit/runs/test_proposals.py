"""Proposed pipelines on an in-memory database: supersession by a newer head, a closed pull
request, tracked runs served first, and when a report back to the VCS becomes due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import Pipeline, Run, RunTransition, utcnow
from orchestrator.reports.due import mark_due
from orchestrator.runs import queue, service, supersede
from orchestrator.runstate import Allowed, RunKind, RunState
from tests.unit.rows import add_stack

OLD, NEW = "a" * 40, "b" * 40


def _pipeline(
    db: Session,
    sha: str,
    branch: str = "feature/x",
    pr: int | None = 5,
    reporting: bool = True,
    kind: RunKind = RunKind.PROPOSED,
) -> Pipeline:
    pipeline = Pipeline(
        repository_id=1,
        commit_sha=sha,
        branch=branch,
        kind=kind,
        pr_number=pr,
        report_state="ok" if reporting else None,
    )
    db.add(pipeline)
    db.flush()
    return pipeline


def _run(db: Session, pipeline: Pipeline, kind: RunKind = RunKind.PROPOSED) -> Run:
    run = service.create_run(
        db,
        service.NewRun(
            stack_id="acme/p/vpc",
            kind=kind,
            commit_sha=pipeline.commit_sha,
            branch=pipeline.branch,
            triggered_by="pull_request:dev",
            pipeline_id=pipeline.id,
            pr_number=pipeline.pr_number,
        ),
        dedupe=False,
    )
    assert run is not None
    return run


def _move(db: Session, run: Run, *states: RunState) -> None:
    for state in states:
        decision = service.transition(db, run.id, state, actor="test")
        assert isinstance(decision, Allowed), decision


def _last_reason(db: Session, run: Run) -> str:
    return (
        db.scalars(
            select(RunTransition.reason)
            .where(RunTransition.run_id == run.id)
            .order_by(RunTransition.id.desc())
        ).first()
        or ""
    )


def test_a_newer_head_discards_queued_and_stops_running_proposed_runs(db: Session) -> None:
    add_stack(db)
    old = _pipeline(db, OLD)
    queued, planning, done = _run(db, old), _run(db, old), _run(db, old)
    _move(db, planning, RunState.PREPARING, RunState.INITIALIZING, RunState.PLANNING)
    _move(db, done, RunState.PREPARING, RunState.INITIALIZING, RunState.PLANNING)
    _move(db, done, RunState.FINISHED)
    new = _pipeline(db, NEW)
    supersede.supersede_proposals(db, new.id)
    for run in (queued, planning, done):
        db.refresh(run)
    assert (queued.state, planning.state, done.state) == ("DISCARDED", "STOPPED", "FINISHED")
    expected = f"superseded by pipeline {new.id} at {NEW[:12]}"
    assert _last_reason(db, queued) == expected == _last_reason(db, planning)
    db.refresh(old)
    assert old.note == expected and old.report_due_at is not None


def test_proposals_of_other_branches_and_pull_requests_are_left_alone(db: Session) -> None:
    add_stack(db)
    other_branch = _run(db, _pipeline(db, OLD, branch="feature/y", pr=None))
    other_pr = _run(db, _pipeline(db, OLD, branch="feature/z", pr=6))
    tracked = _run(db, _pipeline(db, OLD, branch="feature/x", kind=RunKind.TRACKED))
    new = _pipeline(db, NEW, branch="feature/x", pr=5)
    assert supersede.supersede_proposals(db, new.id) == []
    for run in (other_branch, other_pr, tracked):
        db.refresh(run)
        assert run.state == RunState.QUEUED


def test_the_same_pull_request_from_a_renamed_branch_is_still_superseded(db: Session) -> None:
    add_stack(db)
    old_run = _run(db, _pipeline(db, OLD, branch="feature/old-name", pr=5))
    supersede.supersede_proposals(db, _pipeline(db, NEW, branch="feature/new-name", pr=5).id)
    db.refresh(old_run)
    assert old_run.state == RunState.DISCARDED


def test_a_closed_pull_request_ends_its_pending_runs_and_says_so(db: Session) -> None:
    add_stack(db)
    mine = _pipeline(db, OLD, pr=9)
    waiting, running = _run(db, mine), _run(db, mine)
    _move(db, running, RunState.PREPARING)
    other = _run(db, _pipeline(db, NEW, branch="feature/other", pr=10))
    supersede.end_proposals(db, 1, 9, "pull request #9 closed")
    for run in (waiting, running, other):
        db.refresh(run)
    assert (waiting.state, running.state, other.state) == ("DISCARDED", "STOPPED", "QUEUED")
    db.refresh(mine)
    assert mine.note == "pull request #9 closed"


def test_a_proposed_plan_rings_at_a_lower_priority_than_a_tracked_one(db: Session) -> None:
    add_stack(db)
    proposed = _run(db, _pipeline(db, OLD))
    tracked = _run(db, _pipeline(db, NEW, kind=RunKind.TRACKED), kind=RunKind.TRACKED)
    assert queue.plan_bell(db, tracked).priority == 0
    assert queue.plan_bell(db, proposed).priority == queue.PROPOSED_PRIORITY > 0


def test_a_proposed_runs_transition_makes_its_pipelines_report_due(db: Session) -> None:
    add_stack(db)
    pipeline = _pipeline(db, OLD)
    run = _run(db, pipeline)
    _move(db, run, RunState.PREPARING)
    db.refresh(pipeline)
    assert pipeline.report_due_at is not None and pipeline.report_seq == 1


def test_a_pipeline_that_reports_nowhere_is_never_due(db: Session) -> None:
    add_stack(db)
    pipeline = _pipeline(db, OLD, reporting=False)
    _move(db, _run(db, pipeline), RunState.PREPARING)
    db.refresh(pipeline)
    assert pipeline.report_due_at is None and pipeline.report_seq == 0


def test_a_failing_report_keeps_its_backoff_when_runs_move_on(db: Session) -> None:
    add_stack(db)
    pipeline = _pipeline(db, OLD)
    later = utcnow() + timedelta(minutes=5)
    pipeline.report_state, pipeline.report_due_at = "failing", later
    db.flush()
    mark_due(db, pipeline.id)
    db.refresh(pipeline)
    assert pipeline.report_due_at is not None
    assert pipeline.report_due_at.replace(tzinfo=later.tzinfo) == later
    assert pipeline.report_seq == 1
