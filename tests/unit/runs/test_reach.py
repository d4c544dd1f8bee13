"""Which commit a manual or retried TRACKED run may be at (orchestrator/runs/reach.py)."""

from __future__ import annotations

from orchestrator.runs.reach import OffBranch, tracked_commit
from orchestrator.vcs.mirror import Placement

HEAD = "a" * 40
OLD = "b" * 40
FEATURE = "c" * 40


def test_the_head_or_an_ancestor_is_allowed() -> None:
    assert tracked_commit(Placement(HEAD, HEAD, True), None, "acme/p", "main") == HEAD
    assert tracked_commit(Placement(HEAD, OLD, True), "bbbbbbb", "acme/p", "main") == OLD


def test_a_commit_off_the_branch_is_refused_naming_commit_and_branch() -> None:
    refused = tracked_commit(Placement(HEAD, FEATURE, False), "feature-leak", "acme/p", "main")
    assert isinstance(refused, OffBranch)
    assert refused.status == 409
    assert refused.reason.startswith(
        "commit cccccccccccc ('feature-leak') is not on branch 'main' of acme/p as stackrun "
        "last fetched it (head aaaaaaaaaaaa)"
    )
    by_id = tracked_commit(Placement(HEAD, FEATURE, False), FEATURE, "acme/p", "main")
    assert isinstance(by_id, OffBranch)
    assert by_id.reason.startswith("commit cccccccccccc is not on branch 'main'")


def test_a_revision_the_mirror_does_not_hold_is_bad_input() -> None:
    refused = tracked_commit(Placement(HEAD, None, False), "--output=/tmp/x", "acme/p", "main")
    assert isinstance(refused, OffBranch)
    assert refused.status == 422
    assert "'--output=/tmp/x' is not a commit stackrun holds for acme/p" in refused.reason


def test_a_branch_the_mirror_never_fetched_has_no_commit_to_run() -> None:
    refused = tracked_commit(Placement(None, None, False), None, "acme/p", "main")
    assert isinstance(refused, OffBranch)
    assert refused.status == 409
    assert "branch 'main' of acme/p as stackrun last fetched it has no commit" in refused.reason
