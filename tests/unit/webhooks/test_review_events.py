"""Pull request (GitHub) and merge request (GitLab) deliveries parsed into a ReviewEvent.

Driven by the providers' published examples: octokit/webhooks' pull_request opened/synchronize
payloads and the Merge Request Hook example from GitLab's webhook_events.md.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.webhooks import github, gitlab
from orchestrator.webhooks.events import REVIEW_ACTIONS, MalformedPayload, ReviewEvent

# The vendored copies beside the other webhook tests when present, else the shared reference
# folder those copies came from (the pull/merge request bodies have not been vendored yet).
DATA = Path(__file__).resolve().parents[2] / "data" / "webhooks"
REFERENCE = Path("/work/shared/reference/webhooks")

HEAD_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
BASE_SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
MR_HEAD_SHA = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
FORK_URL = "https://github.com/Octocat/Hello-World.git"


def _payload(name: str) -> dict[str, Any]:
    path = DATA / name if (DATA / name).is_file() else REFERENCE / name
    value = json.loads(path.read_bytes())
    assert isinstance(value, dict)
    return value


def _opened() -> dict[str, Any]:
    return _payload("github-pull-request-opened.json")


def _synchronize() -> dict[str, Any]:
    return _payload("github-pull-request-synchronize.json")


def _mr(**attributes: Any) -> dict[str, Any]:
    payload = _payload("gitlab-merge-request.json")
    payload["object_attributes"].update(attributes)
    return payload


# --- GitHub pull_request --------------------------------------------------------------------


def test_github_event_name_is_pull_request() -> None:
    assert github.PULL_REQUEST_EVENT == "pull_request"


def test_github_opened_gives_number_head_sha_branches_author_and_title() -> None:
    review = github.review_event(_opened())
    assert review == ReviewEvent(
        number=2,
        action="opened",
        head_sha=HEAD_SHA,
        head_branch="changes",
        base_branch="master",
        author="Codertocat",
        title="Update the README with new information.",
        repo=github.repo_ref(_opened()),
        head_clone_url="",
        reason="",
    )


def test_github_synchronize_gives_the_new_head_sha() -> None:
    payload = _synchronize()
    review = github.review_event(payload)
    assert review.action == "synchronize"
    assert review.number == 2
    assert review.head_sha == HEAD_SHA == payload["after"]
    assert review.head_branch == "changes"
    assert review.base_branch == "master"


def test_github_review_names_the_base_repository() -> None:
    ref = github.review_event(_opened()).repo
    assert ref.full_name == "Codertocat/Hello-World"
    assert ref.urls[0] == "https://github.com/Codertocat/Hello-World.git"


def test_github_author_is_the_sender_not_the_pull_request_opener() -> None:
    payload = _synchronize()
    payload["sender"]["login"] = "pusher-bot"
    assert github.review_event(payload).author == "pusher-bot"


def test_github_author_is_empty_without_a_sender() -> None:
    payload = _opened()
    del payload["sender"]
    assert github.review_event(payload).author == ""


def test_github_reopened_passes_through() -> None:
    payload = _opened()
    payload["action"] = "reopened"
    assert github.review_event(payload).action == "reopened"


@pytest.mark.parametrize("merged", [False, True])
def test_github_closed_and_merged_both_map_to_closed(merged: bool) -> None:
    payload = _opened()
    payload["action"] = "closed"
    payload["pull_request"]["state"] = "closed"
    payload["pull_request"]["merged"] = merged
    review = github.review_event(payload)
    assert review.action == "closed"
    assert review.reason == ""


@pytest.mark.parametrize(
    "action",
    [
        "edited",
        "labeled",
        "unlabeled",
        "assigned",
        "review_requested",
        "ready_for_review",
        "converted_to_draft",
        "auto_merge_enabled",
        "some_future_action",
    ],
)
def test_github_actions_that_change_no_code_are_ignored_with_a_reason(action: str) -> None:
    payload = _opened()
    payload["action"] = action
    review = github.review_event(payload)
    assert review.action == "ignored"
    assert review.reason == f"pull_request action {action!r} changes no code"
    assert review.head_sha == HEAD_SHA


def test_github_fork_pull_request_carries_the_fork_clone_url() -> None:
    payload = _opened()
    head_repo = payload["pull_request"]["head"]["repo"]
    head_repo["full_name"] = "Octocat/Hello-World"
    head_repo["clone_url"] = FORK_URL
    review = github.review_event(payload)
    assert review.head_clone_url == FORK_URL
    assert review.repo.full_name == "Codertocat/Hello-World"


def test_github_same_repository_pull_request_has_no_head_clone_url() -> None:
    payload = _opened()
    assert (
        payload["pull_request"]["head"]["repo"]["clone_url"] == (payload["repository"]["clone_url"])
    )
    assert github.review_event(payload).head_clone_url == ""


def test_github_pull_request_from_a_deleted_fork_has_no_head_clone_url() -> None:
    payload = _opened()
    payload["action"] = "closed"
    payload["pull_request"]["head"]["repo"] = None
    assert github.review_event(payload).head_clone_url == ""


def test_github_missing_pull_request_raises_malformed_payload_naming_the_field() -> None:
    payload = _opened()
    del payload["pull_request"]
    with pytest.raises(MalformedPayload, match=r"missing field pull_request\.number"):
        github.review_event(payload)


def test_github_missing_action_raises_malformed_payload_naming_the_field() -> None:
    payload = _opened()
    del payload["action"]
    with pytest.raises(MalformedPayload, match=r"missing field action"):
        github.review_event(payload)


@pytest.mark.parametrize("number", ["2", 2.0, True, None])
def test_github_number_that_is_not_an_integer_raises_malformed_payload(number: object) -> None:
    payload = _opened()
    payload["pull_request"]["number"] = number
    with pytest.raises(MalformedPayload, match=r"field pull_request\.number must be an integer"):
        github.review_event(payload)


@pytest.mark.parametrize(
    "sha", ["ec26c3e", "--upload-pack=touch /tmp/x", "EC26C3E57CA3A959CA5AAD62DE7213C562F8C821"]
)
def test_github_head_sha_that_is_not_a_full_hex_id_raises_malformed_payload(sha: str) -> None:
    payload = _opened()
    payload["pull_request"]["head"]["sha"] = sha
    with pytest.raises(MalformedPayload, match=r"field pull_request\.head\.sha must be a full hex"):
        github.review_event(payload)


def test_github_head_sha_that_is_not_a_string_raises_malformed_payload() -> None:
    payload = _opened()
    payload["pull_request"]["head"]["sha"] = 123
    with pytest.raises(MalformedPayload, match=r"field pull_request\.head\.sha must be a string"):
        github.review_event(payload)


@pytest.mark.parametrize(("side", "ref"), [("head", "--force"), ("base", ""), ("head", "a\nb")])
def test_github_branch_git_could_misread_raises_malformed_payload(side: str, ref: str) -> None:
    payload = _opened()
    payload["pull_request"][side]["ref"] = ref
    with pytest.raises(
        MalformedPayload, match=rf"field pull_request\.{side}\.ref must be a branch"
    ):
        github.review_event(payload)


def test_github_missing_base_repository_raises_malformed_payload_naming_the_field() -> None:
    payload = _opened()
    del payload["repository"]
    with pytest.raises(MalformedPayload, match=r"repository\.full_name"):
        github.review_event(payload)


def test_github_fork_without_clone_url_raises_malformed_payload_naming_the_field() -> None:
    payload = _opened()
    payload["pull_request"]["head"]["repo"] = {"full_name": "Octocat/Hello-World"}
    with pytest.raises(MalformedPayload, match=r"pull_request\.head\.repo\.clone_url"):
        github.review_event(payload)


def test_github_review_event_does_not_change_the_payload() -> None:
    payload = _synchronize()
    before = copy.deepcopy(payload)
    github.review_event(payload)
    assert payload == before


# --- GitLab Merge Request Hook --------------------------------------------------------------


def test_gitlab_event_name_is_merge_request_hook() -> None:
    assert gitlab.MERGE_REQUEST_EVENT == "Merge Request Hook"


def test_gitlab_open_gives_iid_last_commit_branches_author_and_title() -> None:
    payload = _mr()
    review = gitlab.review_event(payload)
    assert review == ReviewEvent(
        number=1,
        action="opened",
        head_sha=MR_HEAD_SHA,
        head_branch="ms-viewport",
        base_branch="master",
        author="root",
        title="MS-Viewport",
        repo=gitlab.repo_ref(payload),
        head_clone_url="",
        reason="",
    )


def test_gitlab_number_is_the_iid_not_the_global_id() -> None:
    payload = _mr()
    assert payload["object_attributes"]["id"] == 99
    assert gitlab.review_event(payload).number == 1


def test_gitlab_review_names_the_target_project() -> None:
    ref = gitlab.review_event(_mr()).repo
    assert ref.full_name == "gitlabhq/gitlab-test"
    assert ref.urls[0] == "http://example.com/gitlabhq/gitlab-test.git"


def test_gitlab_author_is_empty_without_a_user() -> None:
    payload = _mr()
    del payload["user"]
    assert gitlab.review_event(payload).author == ""


@pytest.mark.parametrize(
    ("action", "neutral"),
    [("open", "opened"), ("reopen", "reopened"), ("close", "closed"), ("merge", "closed")],
)
def test_gitlab_actions_map_to_neutral_actions(action: str, neutral: str) -> None:
    review = gitlab.review_event(_mr(action=action))
    assert review.action == neutral
    assert review.reason == ""


def test_gitlab_update_without_oldrev_is_ignored_as_an_edit() -> None:
    payload = _mr(action="update")
    assert "oldrev" not in payload["object_attributes"]
    review = gitlab.review_event(payload)
    assert review.action == "ignored"
    assert "oldrev" in review.reason


def test_gitlab_update_with_null_oldrev_is_ignored() -> None:
    assert gitlab.review_event(_mr(action="update", oldrev=None)).action == "ignored"


def test_gitlab_update_with_oldrev_is_a_synchronize() -> None:
    review = gitlab.review_event(_mr(action="update", oldrev=BASE_SHA))
    assert review.action == "synchronize"
    assert review.head_sha == MR_HEAD_SHA
    assert review.reason == ""


def test_gitlab_update_with_an_oldrev_that_is_not_a_commit_id_raises_malformed_payload() -> None:
    with pytest.raises(MalformedPayload, match=r"field object_attributes\.oldrev must be a full"):
        gitlab.review_event(_mr(action="update", oldrev="-x"))


@pytest.mark.parametrize(
    "action", ["approved", "unapproved", "approval", "unapproval", "some_future_action"]
)
def test_gitlab_approval_and_unknown_actions_are_ignored_with_a_reason(action: str) -> None:
    review = gitlab.review_event(_mr(action=action))
    assert review.action == "ignored"
    assert review.reason == f"merge request action {action!r} changes no code"


def test_gitlab_fork_merge_request_carries_the_source_clone_url() -> None:
    payload = _mr(source_project_id=15)
    payload["object_attributes"]["source"]["git_http_url"] = "http://example.com/fork/p.git"
    review = gitlab.review_event(payload)
    assert review.head_clone_url == "http://example.com/fork/p.git"
    assert review.repo.full_name == "gitlabhq/gitlab-test"


def test_gitlab_same_project_merge_request_has_no_head_clone_url() -> None:
    payload = _mr()
    attributes = payload["object_attributes"]
    assert attributes["source_project_id"] == attributes["target_project_id"]
    assert gitlab.review_event(payload).head_clone_url == ""


def test_gitlab_merge_request_from_a_deleted_fork_has_no_head_clone_url() -> None:
    assert gitlab.review_event(_mr(source_project_id=15, source=None)).head_clone_url == ""


def test_gitlab_missing_object_attributes_raises_malformed_payload_naming_the_field() -> None:
    payload = _mr()
    del payload["object_attributes"]
    with pytest.raises(MalformedPayload, match=r"missing field object_attributes\.action"):
        gitlab.review_event(payload)


@pytest.mark.parametrize("iid", ["1", 1.0, False, None])
def test_gitlab_iid_that_is_not_an_integer_raises_malformed_payload(iid: object) -> None:
    with pytest.raises(MalformedPayload, match=r"field object_attributes\.iid must be an integer"):
        gitlab.review_event(_mr(iid=iid))


def test_gitlab_missing_last_commit_raises_malformed_payload_naming_the_field() -> None:
    with pytest.raises(MalformedPayload, match=r"object_attributes\.last_commit\.id"):
        gitlab.review_event(_mr(last_commit=None))


def test_gitlab_last_commit_that_is_not_a_full_hex_id_raises_malformed_payload() -> None:
    with pytest.raises(
        MalformedPayload, match=r"field object_attributes\.last_commit\.id must be a full hex"
    ):
        gitlab.review_event(_mr(last_commit={"id": "da15608"}))


def test_gitlab_source_branch_git_could_misread_raises_malformed_payload() -> None:
    with pytest.raises(
        MalformedPayload, match=r"object_attributes\.source_branch must be a branch"
    ):
        gitlab.review_event(_mr(source_branch="--upload-pack=x"))


def test_gitlab_missing_project_raises_malformed_payload_naming_the_field() -> None:
    payload = _mr()
    del payload["project"]
    with pytest.raises(MalformedPayload, match=r"project\.path_with_namespace"):
        gitlab.review_event(payload)


# --- both -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["opened", "closed", "labeled", "open", "update", "merge"])
def test_actions_are_always_one_of_the_neutral_names(action: str) -> None:
    payload = _opened()
    payload["action"] = action
    assert github.review_event(payload).action in REVIEW_ACTIONS
    assert gitlab.review_event(_mr(action=action)).action in REVIEW_ACTIONS
