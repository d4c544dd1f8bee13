"""Thin HTTP clients that report to GitHub and GitLab: commit statuses and PR/MR comments.

One request per operation, no retries here: a failure is a `ReportFailed` whose `retryable`
tells the caller whether trying again later can help (network errors, 408, 429, 5xx and
GitHub's rate-limit 403 can; other refusals cannot). The message says what was being done, the
HTTP status and at most 300 characters of the answer. The token travels only in a request header;
it is never logged, never part of a message (redacted even if an answer echoes it) and never
shown by `repr`.

Provider rules the clients apply (from the providers' documentation and observed refusals):

- GitHub refuses a status description over 140 characters (422 "description is too long
  (maximum is 140 characters)"); GitLab documents 255 for `description` and `target_url`.
  Longer descriptions are cut with "…"; a GitLab `target_url` over 255 characters is left out
  rather than have the whole status refused.
- GitHub's status states are error/failure/pending/success, so neutral `running` is reported
  as `pending` and `canceled` as `error`. GitLab has pending/running/success/failed/canceled.
- GitLab answers 400 "Cannot transition status via :enqueue from :pending" (or ":run from
  :running") when a pending/running status is posted again with the same state. The status
  already has the requested state, so that answer counts as done (the new description is lost).
- Comment bodies are not shortened here: GitHub refuses more than 65,536 characters and GitLab
  more than 1,000,000; the renderer fits its text (render.COMMENT_LIMIT).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol
from urllib.parse import quote, urlsplit

import httpx

CommitState = Literal["pending", "running", "success", "failure", "canceled"]

GITHUB_DESCRIPTION_MAX: Final = 140
GITLAB_DESCRIPTION_MAX: Final = 255
GITLAB_TARGET_URL_MAX: Final = 255
EXCERPT_MAX: Final = 300

_GITHUB_STATES: Final[dict[str, str]] = {
    "pending": "pending",
    "running": "pending",
    "success": "success",
    "failure": "failure",
    "canceled": "error",
}
_GITLAB_STATES: Final[dict[str, str]] = {
    "pending": "pending",
    "running": "running",
    "success": "success",
    "failure": "failed",
    "canceled": "canceled",
}
_ALREADY_IN_STATE = re.compile(r"Cannot transition status via :\w+ from :(\w+)")
_RETRYABLE_4XX: Final = frozenset({408, 429})
_REDACTED: Final = "[redacted]"


@dataclass(frozen=True)
class VcsTarget:
    """Where and as whom to report: one repository (GitHub) or project (GitLab)."""

    provider: str
    api_url: str
    project: str
    token: str = field(repr=False)


class ReportFailed(Exception):
    """The VCS refused or could not be reached; the message says what was being done, the HTTP
    status and a short excerpt of the answer (at most 300 chars), never the token."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class VcsClient(Protocol):
    def set_status(
        self,
        sha: str,
        context: str,
        state: CommitState,
        description: str,
        target_url: str | None,
    ) -> None: ...

    def create_comment(self, number: int, body: str) -> str: ...

    def update_comment(self, number: int, comment_id: str, body: str) -> None: ...


def client_for(target: VcsTarget, timeout: float = 10.0) -> VcsClient:
    """The client for `target.provider` ("github" or "gitlab")."""
    if target.provider == "github":
        return GitHubClient(target, timeout)
    if target.provider == "gitlab":
        return GitLabClient(target, timeout)
    raise ValueError(f"unknown VCS provider {target.provider!r}: expected 'github' or 'gitlab'")


class GitHubClient:
    """GitHub's REST API (github.com or Enterprise `…/api/v3`) for one `owner/repo`."""

    def __init__(
        self, target: VcsTarget, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        owner, repo = _owner_and_repo(target.project)
        self._name = target.project
        self._repo_path = f"/repos/{_segment(owner)}/{_segment(repo)}"
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {_checked_token(target.token)}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "stackrun",
        }
        self._http = _Http(target.api_url, headers, target.token, timeout, transport)

    def __repr__(self) -> str:
        return f"GitHubClient(repo={self._name!r}, api={self._http.shown_url!r})"

    def set_status(
        self,
        sha: str,
        context: str,
        state: CommitState,
        description: str,
        target_url: str | None,
    ) -> None:
        body: dict[str, Any] = {
            "state": _GITHUB_STATES[state],
            "context": context,
            "description": shorten(description, GITHUB_DESCRIPTION_MAX),
        }
        if target_url is not None:
            body["target_url"] = target_url
        what = f"GitHub commit status {context!r} on {self._name}@{sha[:12]}"
        self._http.call(what, "POST", f"{self._repo_path}/statuses/{_segment(sha)}", body)

    def create_comment(self, number: int, body: str) -> str:
        what = f"GitHub comment on {self._name}#{number}"
        path = f"{self._repo_path}/issues/{number}/comments"
        return _new_id(what, self._http.call(what, "POST", path, {"body": body}))

    def update_comment(self, number: int, comment_id: str, body: str) -> None:
        what = f"GitHub comment {comment_id} edit on {self._name}#{number}"
        path = f"{self._repo_path}/issues/comments/{_segment(comment_id)}"
        self._http.call(what, "PATCH", path, {"body": body})


class GitLabClient:
    """GitLab's REST API (`…/api/v4`) for one project, by numeric id or full path."""

    def __init__(
        self, target: VcsTarget, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        if not target.project.strip("/"):
            raise ValueError("GitLab project must be a numeric id or a group/project path")
        self._name = target.project
        self._project_path = f"/projects/{_segment(target.project)}"
        headers = {
            "Accept": "application/json",
            "PRIVATE-TOKEN": _checked_token(target.token),
            "User-Agent": "stackrun",
        }
        self._http = _Http(target.api_url, headers, target.token, timeout, transport)

    def __repr__(self) -> str:
        return f"GitLabClient(project={self._name!r}, api={self._http.shown_url!r})"

    def set_status(
        self,
        sha: str,
        context: str,
        state: CommitState,
        description: str,
        target_url: str | None,
    ) -> None:
        wanted = _GITLAB_STATES[state]
        body: dict[str, Any] = {
            "state": wanted,
            "name": context,
            "description": shorten(description, GITLAB_DESCRIPTION_MAX),
        }
        if target_url is not None and len(target_url) <= GITLAB_TARGET_URL_MAX:
            body["target_url"] = target_url
        what = f"GitLab commit status {context!r} on {self._name}@{sha[:12]}"
        path = f"{self._project_path}/statuses/{_segment(sha)}"
        response = self._http.send(what, "POST", path, body)
        if not _already_in_state(response, wanted):
            self._http.check(what, response)

    def create_comment(self, number: int, body: str) -> str:
        what = f"GitLab note on {self._name}!{number}"
        path = f"{self._project_path}/merge_requests/{number}/notes"
        return _new_id(what, self._http.call(what, "POST", path, {"body": body}))

    def update_comment(self, number: int, comment_id: str, body: str) -> None:
        what = f"GitLab note {comment_id} edit on {self._name}!{number}"
        path = f"{self._project_path}/merge_requests/{number}/notes/{_segment(comment_id)}"
        self._http.call(what, "PUT", path, {"body": body})


class _Http:
    """JSON requests to one API base URL; every failure becomes a token-free ReportFailed."""

    def __init__(
        self,
        api_url: str,
        headers: dict[str, str],
        token: str,
        timeout: float,
        transport: httpx.BaseTransport | None,
    ) -> None:
        if not api_url.startswith(("https://", "http://")):
            raise ValueError(f"VCS API URL {_shown(api_url)!r} must be an http(s) URL")
        self._base = api_url.rstrip("/")
        self.shown_url = _shown(self._base)
        self._headers = headers
        self._token = token
        self._timeout = timeout
        self._transport = transport

    def call(self, what: str, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        response = self.send(what, method, path, body)
        self.check(what, response)
        return response

    def send(self, what: str, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
                return client.request(method, self._base + path, json=body, headers=self._headers)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise self._failed(f"{what}: bad API URL {self.shown_url}: {exc}", False) from None
        except httpx.TransportError as exc:
            detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
            message = f"{what}: {self.shown_url} could not be reached ({detail})"
            raise self._failed(message, True) from None

    def check(self, what: str, response: httpx.Response) -> None:
        if response.is_success:
            return
        excerpt = _excerpt(self.redact(response.text))
        raise self._failed(
            f"{what}: HTTP {response.status_code}: {excerpt}",
            _retryable(response),
            status=response.status_code,
            retry_after=_retry_after(response),
        )

    def redact(self, text: str) -> str:
        return text.replace(self._token, _REDACTED) if self._token else text

    def _failed(
        self,
        message: str,
        retryable: bool,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> ReportFailed:
        return ReportFailed(
            self.redact(message), retryable=retryable, status=status, retry_after=retry_after
        )


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _new_id(what: str, response: httpx.Response) -> str:
    """The integer `id` of a created comment or note, as a string."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    new_id = answer.get("id") if isinstance(answer, dict) else None
    if isinstance(new_id, bool) or not isinstance(new_id, int):
        message = f"{what}: HTTP {response.status_code} answer carries no integer id"
        raise ReportFailed(message, retryable=False, status=response.status_code)
    return str(new_id)


def _already_in_state(response: httpx.Response, wanted: str) -> bool:
    """GitLab's 400 for posting a pending/running status again with the same state."""
    if response.status_code != 400:
        return False
    found = _ALREADY_IN_STATE.search(response.text)
    return found is not None and found.group(1) == wanted


def _retryable(response: httpx.Response) -> bool:
    status = response.status_code
    if status >= 500 or status in _RETRYABLE_4XX:
        return True
    rate_limited = response.headers.get("x-ratelimit-remaining") == "0"
    return status == 403 and (rate_limited or "retry-after" in response.headers)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a `Retry-After: <seconds>` header (the form GitHub and GitLab send)."""
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if not flat:
        return "(empty answer)"
    return shorten(flat, EXCERPT_MAX)


def _owner_and_repo(project: str) -> tuple[str, str]:
    owner, _, repo = project.partition("/")
    if not owner or not repo or "/" in repo:
        raise ValueError(f"GitHub project must be 'owner/repo', got {project!r}")
    return owner, repo


def _segment(value: str) -> str:
    """One URL path segment: everything reserved percent-encoded, slashes included."""
    return quote(value, safe="")


def _checked_token(token: str) -> str:
    if not token or not token.isascii() or not token.isprintable():
        raise ValueError("VCS token is empty or has characters not allowed in a header")
    return token


def _shown(url: str) -> str:
    """`url` without any user:password part, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
