"""A cluster renamed between two hand-offs of the same stack: each attempt records the files
it wrote, and the next one removes those it no longer writes, in its own commit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import git
from sqlalchemy.orm import Session

from orchestrator.handoff import service as handoff
from tests.unit.handoff.test_service import (
    BRIDGE,
    _completed,
    _handoffs,
    _job,
    _settings,
    _stacks,
    _tree,
)

OLD_FILES = ("clusters/old-eu/cluster-secret.yaml", "clusters/old-eu/root-applicationset.yaml")


def test_a_finished_attempt_records_its_files_and_the_next_claim_retires_them(
    db: Session,
) -> None:
    _stacks(db)
    _completed(db)
    (first,) = _handoffs(db)
    job = handoff.claim(db, first.id)
    assert job is not None and job.retired == ()
    outcome = handoff.Outcome(handoff.COMMITTED, "committed", "c" * 40, "app", OLD_FILES)
    handoff.finish(db, job, outcome)
    assert _handoffs(db)[0].written_files == list(OLD_FILES)

    _completed(db, sha="b" * 40)
    second = _handoffs(db)[-1]
    again = handoff.claim(db, second.id)

    assert again is not None and again.retired == OLD_FILES


def test_the_old_clusters_files_go_in_the_commit_of_the_new_ones(tmp_path: Path) -> None:
    bare = tmp_path / "gitops.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    old = _job(f"file://{bare}", {"gitops_bridge": {**BRIDGE, "cluster_name": "old-eu"}})
    first = handoff.execute(old, _settings(tmp_path))
    assert first.written_files == OLD_FILES

    renamed = dataclasses.replace(_job(f"file://{bare}"), retired=first.written_files or ())
    second = handoff.execute(renamed, _settings(tmp_path))

    assert second.status == handoff.COMMITTED, second.message
    assert _tree(bare) == [
        "clusters/prod-eu/cluster-secret.yaml",
        "clusters/prod-eu/root-applicationset.yaml",
    ]
    assert len(list(git.Repo(bare).iter_commits("main"))) == 2
