"""The ownership index: a managed state, a stack with its own backend (the plan JSON), a tracked
run finishing, an unreadable source, and beat's schedule setting."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.boundary import index
from orchestrator.models import BoundaryResource, BoundarySource, Run, StateVersion
from orchestrator.runstate import RunKind, RunState
from tests.unit.boundary import shapes
from tests.unit.rows import add_stack

STACK = "acme/p/vpc"
PLAN = {
    "prior_state": {
        "values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_s3_bucket.assets",
                        "mode": "managed",
                        "type": "aws_s3_bucket",
                        "values": {"arn": shapes.BUCKET_ARN, "bucket": "payments-assets"},
                    }
                ]
            }
        }
    }
}


def _keys(db: Session) -> set[str]:
    return set(db.scalars(select(BoundaryResource.key).where(BoundaryResource.stack_id == STACK)))


def _finished_run(db: Session) -> Run:
    run = Run(
        stack_id=STACK,
        kind=RunKind.TRACKED,
        state=RunState.FINISHED,
        commit_sha="c" * 40,
        branch="main",
        triggered_by="push",
    )
    db.add(run)
    db.flush()
    return run


def test_a_stack_with_its_own_backend_is_read_from_its_last_plans_prior_state(db: Session) -> None:
    add_stack(db, managed_state=False, backend_type="s3")
    run = _finished_run(db)
    read: list[str] = []

    def artifact(key: str) -> bytes:
        read.append(key)
        return json.dumps(PLAN).encode()

    assert index.refresh_stale(db, artifact) == [STACK]
    assert read == [f"runs/{run.id}/plan.json"]
    assert f"arn:{shapes.BUCKET_ARN}" in _keys(db)
    source = db.get(BoundarySource, STACK)
    assert source is not None and (source.source, source.resources) == (f"plan:{run.id}", 1)


def test_a_finished_tracked_run_reindexes_its_managed_state(db: Session) -> None:
    add_stack(db)
    db.add(StateVersion(stack_id=STACK, serial=1, lineage="l", sha256="x", content=b"{}"))
    db.flush()
    index.on_run_finished(db, STACK)
    assert _keys(db) == set()
    content = json.dumps(shapes.STATE).encode()
    db.add(StateVersion(stack_id=STACK, serial=2, lineage="l", sha256="y", content=content))
    db.flush()
    index.on_run_finished(db, STACK)
    assert f"arn:{shapes.DB_ARN}" in _keys(db)
    assert len(_keys(db)) == 8  # ARNs, typed names, Kubernetes objects; never a bare id


def test_an_unreadable_source_leaves_an_empty_index_and_is_not_retried(db: Session) -> None:
    add_stack(db)
    db.add(StateVersion(stack_id=STACK, serial=1, lineage="l", sha256="x", content=b"[not json"))
    db.flush()
    assert index.refresh_stale(db, lambda key: b"") == [STACK]
    assert _keys(db) == set()
    assert index.refresh_stale(db, lambda key: b"") == []


@pytest.mark.parametrize(("seconds", "scheduled"), [("0", False), ("2.5", True)])
def test_beat_checks_the_boundary_only_when_the_setting_asks(
    monkeypatch: pytest.MonkeyPatch, seconds: str, scheduled: bool
) -> None:
    from orchestrator.settings import get_settings
    from workers.celery_app import create_app

    monkeypatch.setenv("STACKRUN_BOUNDARY_CHECK_SECONDS", seconds)
    get_settings.cache_clear()
    try:
        schedule = create_app().conf.beat_schedule
    finally:
        get_settings.cache_clear()
    assert ("boundary_check" in schedule) is scheduled
    if scheduled:
        assert schedule["boundary_check"]["schedule"] == 2.5
        assert schedule["boundary_check"]["task"] == "stackrun.boundary_check"
