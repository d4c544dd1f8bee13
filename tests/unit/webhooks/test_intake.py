"""Pure helpers of orchestrator/webhooks/intake.py: URL matching and ignore reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.webhooks import github, gitlab
from orchestrator.webhooks.directory import normalize_url
from orchestrator.webhooks.events import PushEvent, RepoRef
from orchestrator.webhooks.intake import ignore_reason

DATA = Path(__file__).resolve().parents[2] / "data" / "webhooks"
ZERO = "0" * 40
SHA_A = "a" * 40
SHA_B = "b" * 40


def _payload(name: str) -> dict[str, Any]:
    value = json.loads((DATA / name).read_bytes())
    assert isinstance(value, dict)
    return value


def _push(ref: str, before: str = SHA_A, after: str = SHA_B) -> PushEvent:
    return PushEvent(ref, before, after, "alice", RepoRef("o/r", ()))


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/owner/repo.git",
        "https://github.com/owner/repo",
        "https://github.com/owner/repo/",
        "https://github.com/owner/repo.git/",
        "https://user:tok@github.com/owner/repo.git",
        "https://x-access-token:ghs_abc123@github.com/owner/repo",
        "http://github.com/owner/repo.git",
        "https://GitHub.COM/owner/repo.git",
        "git@github.com:owner/repo.git",
        "git@github.com:owner/repo",
        "ssh://git@github.com/owner/repo.git",
        "git://github.com/owner/repo.git",
        "  https://github.com/owner/repo.git\n",
    ],
)
def test_clone_url_forms_of_one_repository_normalise_alike(url: str) -> None:
    assert normalize_url(url) == "github.com/owner/repo"


def test_port_is_kept() -> None:
    assert normalize_url("https://git.example.com:8443/team/infra.git") == (
        "git.example.com:8443/team/infra"
    )


@pytest.mark.parametrize(
    "url", ["file:///srv/git/infra.git", "file:///srv/git/infra", "/srv/git/infra.git"]
)
def test_file_urls_and_local_paths_normalise_to_the_path(url: str) -> None:
    assert normalize_url(url) == "/srv/git/infra"


def test_different_repositories_stay_different() -> None:
    assert normalize_url("https://github.com/owner/repo.git") != normalize_url(
        "https://github.com/owner/repo2.git"
    )
    assert normalize_url("https://github.com/owner/repo.git") != normalize_url(
        "https://gitlab.com/owner/repo.git"
    )


def test_github_payload_urls_match_a_registered_https_clone_url() -> None:
    ref = github.repo_ref(_payload("github-push-new-branch.json"))
    registered = normalize_url("https://github.com/Codertocat/Hello-World")
    assert registered in {normalize_url(u) for u in ref.urls}


def test_gitlab_payload_urls_match_a_registered_ssh_clone_url() -> None:
    ref = gitlab.repo_ref(_payload("gitlab-push.json"))
    registered = normalize_url("git@example.com:mike/diaspora.git")
    assert registered in {normalize_url(u) for u in ref.urls}


def test_push_to_the_tracked_branch_is_processed() -> None:
    assert ignore_reason(_push("refs/heads/main")) is None


def test_new_tracked_branch_with_zero_before_is_processed() -> None:
    push = github.push_event(_payload("github-push-new-branch.json"))
    assert ignore_reason(push) is None


def test_tag_deletion_from_github_is_ignored_as_not_a_branch() -> None:
    push = github.push_event(_payload("github-push.json"))
    reason = ignore_reason(push)
    assert reason is not None
    assert "not a branch" in reason
    assert "refs/tags/simple-tag" in reason


def test_tag_push_is_ignored_as_not_a_branch() -> None:
    reason = ignore_reason(_push("refs/tags/v1.2.0"))
    assert reason is not None
    assert "not a branch" in reason


def test_deleted_tracked_branch_never_triggers_a_destroy() -> None:
    reason = ignore_reason(_push("refs/heads/main", after=ZERO))
    assert reason is not None
    assert "deleted" in reason
    assert "never triggers a destroy" in reason


def test_push_to_another_branch_is_processed_as_a_proposal() -> None:
    push = github.push_event(_payload("github-push-new-branch.json"))
    assert push.branch == "master"
    assert ignore_reason(push) is None


def test_gitlab_push_to_tracked_branch_is_processed() -> None:
    assert ignore_reason(gitlab.push_event(_payload("gitlab-push.json"))) is None
