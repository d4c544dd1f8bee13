"""The GitHub and GitLab reporting clients against a stand-in for both APIs over real HTTP."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from orchestrator.reports.client import (
    CommitState,
    GitHubClient,
    GitLabClient,
    ReportFailed,
    VcsClient,
    VcsTarget,
    client_for,
)
from tests.support.vcs_api import GITHUB, GITHUB_COMMENT_MAX, GITLAB, VcsApi

TOKEN = "ghp_reporting-token-7c1d0e9f"
SHA = "18f3e63d05582537db6d183d9d557be09e1f90c8"
RUN_URL = "https://stackrun.example.com/runs/42"


@pytest.fixture
def api() -> Iterator[VcsApi]:
    with VcsApi(token=TOKEN) as stand_in:
        yield stand_in


def github(api: VcsApi, token: str = TOKEN, project: str = "acme/infra") -> VcsClient:
    return client_for(VcsTarget("github", api.github_url, project, token), timeout=5.0)


def gitlab(api: VcsApi, token: str = TOKEN, project: str = "acme/platform/infra") -> VcsClient:
    return client_for(VcsTarget("gitlab", api.gitlab_url, project, token), timeout=5.0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("pending", "pending"),
        ("running", "pending"),
        ("success", "success"),
        ("failure", "failure"),
        ("canceled", "error"),
    ],
)
def test_github_status_maps_neutral_state_to_github_state(
    api: VcsApi, state: CommitState, expected: str
) -> None:
    github(api).set_status(SHA, "stackrun/plan", state, "1 to add", RUN_URL)

    [posted] = api.statuses(sha=SHA)
    assert (posted.provider, posted.project, posted.context) == (
        GITHUB,
        "acme/infra",
        "stackrun/plan",
    )
    assert (posted.state, posted.description, posted.target_url) == (expected, "1 to add", RUN_URL)
    [request] = api.requests
    assert request.path == f"/api/v3/repos/acme/infra/statuses/{SHA}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"] == "stackrun"
    assert "authorization" not in request.headers


def test_github_status_without_link_sends_no_target_url(api: VcsApi) -> None:
    github(api).set_status(SHA, "stackrun/plan", "pending", "queued", None)

    assert "target_url" not in api.requests[0].body
    assert api.statuses()[0].target_url is None


def test_github_description_is_cut_to_140_characters_with_an_ellipsis(api: VcsApi) -> None:
    github(api).set_status(SHA, "stackrun/plan", "failure", "x" * 500, RUN_URL)

    [posted] = api.statuses()
    assert posted.description is not None
    assert len(posted.description) == 140
    assert posted.description == "x" * 139 + "…"


def test_github_comment_is_created_then_edited_in_place(api: VcsApi) -> None:
    client = github(api)

    comment_id = client.create_comment(7, "planning…")
    client.update_comment(7, comment_id, "2 stacks planned")

    [comment] = api.comments().values()
    assert (comment.id, comment.number, comment.body, comment.edits) == (
        comment_id,
        7,
        "2 stacks planned",
        1,
    )
    assert (api.comment_posts, api.comment_edits) == (1, 1)
    assert [(r.method, r.path) for r in api.requests] == [
        ("POST", "/api/v3/repos/acme/infra/issues/7/comments"),
        ("PATCH", f"/api/v3/repos/acme/infra/issues/comments/{comment_id}"),
    ]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("pending", "pending"),
        ("running", "running"),
        ("success", "success"),
        ("failure", "failed"),
        ("canceled", "canceled"),
    ],
)
def test_gitlab_status_maps_neutral_state_to_gitlab_state(
    api: VcsApi, state: CommitState, expected: str
) -> None:
    gitlab(api).set_status(SHA, "stackrun/plan", state, "1 to add", RUN_URL)

    [posted] = api.statuses(sha=SHA, provider=GITLAB)
    assert (posted.context, posted.state, posted.description) == (
        "stackrun/plan",
        expected,
        "1 to add",
    )
    assert posted.target_url == RUN_URL
    assert api.requests[0].body["name"] == "stackrun/plan"
    assert "private-token" not in api.requests[0].headers


def test_gitlab_project_path_is_sent_url_encoded_in_one_segment(api: VcsApi) -> None:
    gitlab(api, project="acme/platform/infra").set_status(SHA, "plan", "success", "ok", None)

    assert api.requests[0].path == f"/api/v4/projects/acme%2Fplatform%2Finfra/statuses/{SHA}"
    assert api.statuses()[0].project == "acme/platform/infra"


def test_gitlab_numeric_project_id_is_used_as_is(api: VcsApi) -> None:
    gitlab(api, project="1234").create_comment(3, "hello")

    assert api.requests[0].path == "/api/v4/projects/1234/merge_requests/3/notes"


def test_gitlab_note_is_created_then_edited_in_place(api: VcsApi) -> None:
    client = gitlab(api)

    note_id = client.create_comment(11, "planning…")
    client.update_comment(11, note_id, "done")

    comment = api.comments(provider=GITLAB)[note_id]
    assert (comment.number, comment.body, comment.edits) == (11, "done", 1)
    assert api.requests[1].method == "PUT"
    assert api.requests[1].path.endswith(f"/merge_requests/11/notes/{note_id}")


def test_gitlab_description_is_cut_to_255_characters(api: VcsApi) -> None:
    gitlab(api).set_status(SHA, "plan", "failure", "y" * 400, RUN_URL)

    description = api.statuses()[0].description
    assert description == "y" * 254 + "…"


def test_gitlab_overlong_target_url_is_left_out_rather_than_refused(api: VcsApi) -> None:
    gitlab(api).set_status(SHA, "plan", "success", "ok", "https://x.example.com/" + "a" * 300)

    assert api.statuses()[0].target_url is None


def test_gitlab_repeating_a_running_status_counts_as_done(api: VcsApi) -> None:
    client = gitlab(api)

    client.set_status(SHA, "plan", "running", "planning", RUN_URL)
    client.set_status(SHA, "plan", "running", "still planning", RUN_URL)
    client.set_status(SHA, "plan", "success", "planned", RUN_URL)

    assert [r.status for r in api.requests] == [201, 400, 201]
    assert [s.state for s in api.statuses()] == ["running", "success"]


@pytest.mark.parametrize("provider", [GITHUB, GITLAB])
def test_wrong_token_fails_with_401_and_never_shows_either_token(
    api: VcsApi, provider: str
) -> None:
    wrong = "glpat-wrong-secret-0000"
    client = github(api, token=wrong) if provider == GITHUB else gitlab(api, token=wrong)

    with pytest.raises(ReportFailed) as failed:
        client.set_status(SHA, "plan", "pending", "queued", None)

    shown = f"{failed.value} {failed.value!r} {failed.value.args}"
    assert "401" in str(failed.value)
    assert wrong not in shown and TOKEN not in shown
    assert failed.value.status == 401
    assert failed.value.retryable is False


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_server_errors_and_throttling_are_retryable(api: VcsApi, status: int) -> None:
    api.fail(status=status)

    with pytest.raises(ReportFailed) as failed:
        github(api).create_comment(1, "hi")

    assert failed.value.retryable is True
    assert failed.value.status == status
    assert f"HTTP {status}" in str(failed.value)
    assert len(api.refused) == 1 and api.requests == []


def test_rate_limit_answer_carries_retry_after(api: VcsApi) -> None:
    api.fail(status=403, retry_after=7)

    with pytest.raises(ReportFailed) as failed:
        github(api).set_status(SHA, "plan", "pending", "queued", None)

    assert (failed.value.retryable, failed.value.retry_after) == (True, 7.0)


def test_outage_for_two_attempts_then_the_third_succeeds(api: VcsApi) -> None:
    api.fail(status=503, times=2)
    client = gitlab(api)

    for _ in range(2):
        with pytest.raises(ReportFailed):
            client.set_status(SHA, "plan", "pending", "queued", None)
    client.set_status(SHA, "plan", "pending", "queued", None)

    assert [r.status for r in api.refused] == [503, 503]
    assert [s.state for s in api.statuses()] == ["pending"]


def test_overlong_github_comment_is_refused_422_and_not_retryable(api: VcsApi) -> None:
    body = "z" * (GITHUB_COMMENT_MAX + 1)

    with pytest.raises(ReportFailed) as failed:
        github(api).create_comment(5, body)

    message = str(failed.value)
    assert failed.value.retryable is False
    assert failed.value.status == 422
    assert "HTTP 422" in message and "Body is too long" in message
    excerpt = message.split("HTTP 422: ", 1)[1]
    assert len(excerpt) <= 300


def test_unreachable_vcs_fails_fast_and_is_retryable() -> None:
    target = VcsTarget("github", f"http://127.0.0.1:{closed_port()}/api/v3", "acme/infra", TOKEN)
    started = time.monotonic()

    with pytest.raises(ReportFailed) as failed:
        client_for(target, timeout=2.0).create_comment(1, "hi")

    assert time.monotonic() - started < 2.0
    assert failed.value.retryable is True
    assert failed.value.status is None
    assert "could not be reached" in str(failed.value)
    assert TOKEN not in str(failed.value)


@pytest.mark.parametrize("provider", [GITHUB, GITLAB])
def test_editing_an_unknown_comment_fails_with_404(api: VcsApi, provider: str) -> None:
    client = github(api) if provider == GITHUB else gitlab(api)

    with pytest.raises(ReportFailed) as failed:
        client.update_comment(3, "999999", "new text")

    assert failed.value.status == 404
    assert "HTTP 404" in str(failed.value)
    assert failed.value.retryable is False


def test_gitlab_note_of_another_merge_request_is_not_found(api: VcsApi) -> None:
    client = gitlab(api)
    note_id = client.create_comment(1, "first")

    with pytest.raises(ReportFailed) as failed:
        client.update_comment(2, note_id, "moved?")

    assert failed.value.status == 404
    assert api.comments()[note_id].body == "first"


def test_token_echoed_by_an_answer_is_redacted() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=f"bad token {request.headers['private-token']} given")

    target = VcsTarget("gitlab", "https://gitlab.example.com/api/v4", "acme/infra", TOKEN)
    client = GitLabClient(target, transport=httpx.MockTransport(echo))

    with pytest.raises(ReportFailed) as failed:
        client.create_comment(1, "hi")

    assert TOKEN not in str(failed.value)
    assert "bad token [redacted] given" in str(failed.value)


def test_created_comment_answer_without_integer_id_fails() -> None:
    def no_id(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"id": "abc"})

    target = VcsTarget("github", "https://api.github.com", "acme/infra", TOKEN)
    client = GitHubClient(target, transport=httpx.MockTransport(no_id))

    with pytest.raises(ReportFailed, match="no integer id") as failed:
        client.create_comment(1, "hi")

    assert failed.value.retryable is False


def test_target_and_clients_never_show_the_token_in_repr(api: VcsApi) -> None:
    target = VcsTarget("github", api.github_url, "acme/infra", TOKEN)

    assert TOKEN not in repr(target)
    assert TOKEN not in repr(client_for(target))
    assert TOKEN not in repr(gitlab(api))


def test_credentials_in_the_api_url_are_not_shown() -> None:
    target = VcsTarget("github", "http://user:hunter2@127.0.0.1:9/api/v3", "acme/infra", TOKEN)

    with pytest.raises(ReportFailed) as failed:
        client_for(target, timeout=1.0).create_comment(1, "hi")

    assert "hunter2" not in str(failed.value)


def test_unknown_provider_or_malformed_github_repo_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown VCS provider"):
        client_for(VcsTarget("bitbucket", "https://api.bitbucket.org", "a/b", TOKEN))
    with pytest.raises(ValueError, match="owner/repo"):
        client_for(VcsTarget("github", "https://api.github.com", "acme", TOKEN))
