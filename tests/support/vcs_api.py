"""A stand-in for the GitHub and GitLab REST endpoints stackrun reports to, over real HTTP.

`with VcsApi(token="t0ken") as api:` serves, on a free 127.0.0.1 port, GitHub Enterprise-style
under `api.github_url` (`{api.url}/api/v3`) and GitLab under `api.gitlab_url`
(`{api.url}/api/v4`), exactly these routes (anything else is the provider's 404):

    GitHub  POST  /repos/{owner}/{repo}/statuses/{sha}               201 status
            POST  /repos/{owner}/{repo}/issues/{number}/comments     201 issue comment
            PATCH /repos/{owner}/{repo}/issues/comments/{id}         200 issue comment
    GitLab  POST  /projects/{id}/statuses/{sha}                      201 commit status
            POST  /projects/{id}/merge_requests/{iid}/notes          201 note
            PUT   /projects/{id}/merge_requests/{iid}/notes/{id}     200 note

Every repository, project, pull request and merge request exists; a GitLab project is a number
or a path that must arrive URL-encoded in one segment (`group%2Fsub%2Fproject`), as GitLab
requires. Bodies are JSON only.

Checks, answered with the provider's own error shapes:
- auth: GitHub `Authorization: Bearer <token>` or `token <token>`, GitLab `PRIVATE-TOKEN` → 401
  (`{"message": "Bad credentials", ...}` / `{"message": "401 Unauthorized"}`); GitHub also
  refuses a request without User-Agent (403);
- sha: 40 hex characters (GitHub 422 "No commit found for SHA", GitLab 404 "Commit Not Found");
- GitHub status: state in error/failure/pending/success, context a string, description at most
  140 characters (422 "description is too long (maximum is 140 characters)"), target_url a
  string or null;
- GitLab status: state in pending/running/success/failed/canceled/skipped (400), name (or
  context) a string, description and target_url at most 255 characters, target_url http(s);
  posting a pending/running status again with the same state answers GitLab's 400 "Cannot
  transition status via :enqueue from :pending" (":run from :running");
- comments: body a non-blank string, at most 65,536 characters on GitHub (422) and 1,000,000 on
  GitLab (400); editing an unknown comment (or one of another repository / merge request) → 404.

Recording (all behind one lock; readers get copies):
- `api.requests`: every request the simulated provider answered, as `Recorded` (provider,
  method, raw path, JSON body, headers without Authorization / PRIVATE-TOKEN, answer status);
- `api.refused`: the attempts answered by the outage switch instead, in the same form;
- `api.statuses(sha=None, provider=None)`: accepted statuses in order, as `StatusPost`
  (provider, project, sha, context (GitLab name), provider's state word, description, target_url);
- `api.comments(provider=None)`: current comments by id (`str`), as `Comment` with body and
  number of edits; `api.comment_posts` / `api.comment_edits`: how many were accepted.

Outage: `api.fail(status=500, times=None, retry_after=None)` answers the next `times` requests
(all of them until `api.recover()` when None) with `status` and the provider's error body, and a
`Retry-After` header when asked (GitHub 403/429 also get `x-ratelimit-remaining: 0`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.support.json_http import json_handler

GITHUB = "github"
GITLAB = "gitlab"
GITHUB_PREFIX = "/api/v3"
GITLAB_PREFIX = "/api/v4"

GITHUB_STATES = ("error", "failure", "pending", "success")
GITLAB_STATES = ("pending", "running", "success", "failed", "canceled", "skipped")
GITHUB_DESCRIPTION_MAX = 140
GITLAB_FIELD_MAX = 255
GITHUB_COMMENT_MAX = 65_536
GITLAB_NOTE_MAX = 1_000_000

_DOCS = "https://docs.github.com/rest"
_STATUS_DOCS = f"{_DOCS}/commits/statuses#create-a-commit-status"
_CREATE_COMMENT_DOCS = f"{_DOCS}/issues/comments#create-an-issue-comment"
_UPDATE_COMMENT_DOCS = f"{_DOCS}/issues/comments#update-an-issue-comment"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SECRET_HEADERS = frozenset({"authorization", "private-token"})
_GITLAB_EVENTS = {"pending": "enqueue", "running": "run"}

_Handler = Callable[..., "_Reply"]


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in saw it and the status it answered."""

    provider: str | None
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class StatusPost:
    """One accepted commit status; `state` is the provider's own word (GitLab `failed`…)."""

    provider: str
    project: str
    sha: str
    context: str
    state: str
    description: str | None
    target_url: str | None


@dataclass(frozen=True)
class Comment:
    """A PR comment or MR note as it stands now."""

    provider: str
    project: str
    number: int
    id: str
    body: str
    edits: int = 0
    created_at: str = ""
    updated_at: str = ""


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class _Refusal(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.reply = _Reply(status, body)


@dataclass
class _Outage:
    status: int
    times: int | None
    retry_after: int | None


@dataclass(frozen=True)
class _Route:
    provider: str
    method: str
    pattern: re.Pattern[str]
    handler: str


_ROUTES = (
    _Route(GITHUB, "POST", re.compile(r"^/repos/([^/]+)/([^/]+)/statuses/([^/]+)$"), "_gh_status"),
    _Route(
        GITHUB, "POST", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$"), "_gh_post"
    ),
    _Route(
        GITHUB, "PATCH", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)$"), "_gh_edit"
    ),
    _Route(GITLAB, "POST", re.compile(r"^/projects/([^/]+)/statuses/([^/]+)$"), "_gl_status"),
    _Route(
        GITLAB, "POST", re.compile(r"^/projects/([^/]+)/merge_requests/(\d+)/notes$"), "_gl_post"
    ),
    _Route(
        GITLAB,
        "PUT",
        re.compile(r"^/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$"),
        "_gl_edit",
    ),
)


class VcsApi:
    """GitHub's and GitLab's reporting endpoints on 127.0.0.1, in a thread; use with `with`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.refused: list[Recorded] = []
        self.comment_posts = 0
        self.comment_edits = 0
        self._statuses: list[StatusPost] = []
        self._comments: dict[str, Comment] = {}
        self._gitlab_current: dict[tuple[str, str, str], str] = {}
        self._gitlab_ids: dict[str, int] = {}
        self._next_id = 1000
        self._outage: _Outage | None = None
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the stand-in is not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def github_url(self) -> str:
        return self.url + GITHUB_PREFIX

    @property
    def gitlab_url(self) -> str:
        return self.url + GITLAB_PREFIX

    def __enter__(self) -> VcsApi:
        self._httpd = ThreadingHTTPServer(
            ("127.0.0.1", 0), json_handler(self.handle, "application/json; charset=utf-8")
        )
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- scripting and reading ---------------------------------------------------------------

    def fail(
        self, status: int = 500, times: int | None = None, retry_after: int | None = None
    ) -> None:
        """Answer the next `times` requests (every one until `recover()` if None) with `status`."""
        assert 400 <= status <= 599, status
        with self._lock:
            self._outage = _Outage(status, times, retry_after)

    def recover(self) -> None:
        with self._lock:
            self._outage = None

    def statuses(self, sha: str | None = None, provider: str | None = None) -> list[StatusPost]:
        with self._lock:
            found = list(self._statuses)
        return [
            s
            for s in found
            if (sha is None or s.sha == sha) and (provider is None or s.provider == provider)
        ]

    def comments(self, provider: str | None = None) -> dict[str, Comment]:
        with self._lock:
            current = dict(self._comments)
        return {k: c for k, c in current.items() if provider is None or c.provider == provider}

    # -- serving -----------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> _Reply:
        path = urlsplit(target).path
        provider, route_path = _split_provider(path)
        body = _decode(raw)
        shown = {k: v for k, v in headers.items() if k not in _SECRET_HEADERS}
        with self._lock:
            outage = self._take_outage()
        if outage is not None:
            reply = _outage_reply(provider, outage)
            self._record(self.refused, provider, method, path, body, shown, reply)
            return reply
        reply = self._answer(provider, method, route_path, headers, raw)
        self._record(self.requests, provider, method, path, body, shown, reply)
        return reply

    def _take_outage(self) -> _Outage | None:
        outage = self._outage
        if outage is None or outage.times is None:
            return outage
        outage.times -= 1
        if outage.times <= 0:
            self._outage = None
        return outage

    def _record(
        self,
        into: list[Recorded],
        provider: str | None,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str],
        reply: _Reply,
    ) -> None:
        with self._lock:
            into.append(Recorded(provider, method, path, body, headers, reply.status))

    def _answer(
        self, provider: str | None, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> _Reply:
        if provider is None:
            return _Reply(404, {"message": "Not Found"})
        denied = self._auth_refusal(provider, headers)
        if denied is not None:
            return denied
        for route in _ROUTES:
            found = route.pattern.match(path)
            if found and route.provider == provider and route.method == method:
                handler: _Handler = getattr(self, route.handler)
                args = [unquote(group) for group in found.groups()]
                try:
                    return handler(*args, _json_object(provider, raw))
                except _Refusal as refusal:
                    return refusal.reply
        return _not_found(provider)

    def _auth_refusal(self, provider: str, headers: dict[str, str]) -> _Reply | None:
        if provider == GITLAB:
            if headers.get("private-token") == self.token:
                return None
            return _Reply(401, {"message": "401 Unauthorized"})
        given = headers.get("authorization")
        if given is None:
            return _Reply(401, _gh_error("Requires authentication", "401"))
        if given not in (f"Bearer {self.token}", f"token {self.token}"):
            return _Reply(401, _gh_error("Bad credentials", "401"))
        if not headers.get("user-agent"):
            message = (
                "Request forbidden by administrative rules. "
                "Please make sure your request has a User-Agent header"
            )
            return _Reply(403, _gh_error(message, "403"))
        return None

    # -- GitHub ------------------------------------------------------------------------------

    def _gh_status(self, owner: str, repo: str, sha: str, body: dict[str, Any]) -> _Reply:
        if not _SHA.match(sha):
            raise _Refusal(422, _gh_error(f"No commit found for SHA: {sha}", "422", _STATUS_DOCS))
        state = body.get("state")
        if state is None:
            raise _Refusal(422, _gh_invalid('"state" wasn\'t supplied.', _STATUS_DOCS))
        if state not in GITHUB_STATES:
            allowed = ", ".join(f'"{s}"' for s in GITHUB_STATES)
            detail = f"For 'properties/state', {json.dumps(state)} is not one of [{allowed}]."
            raise _Refusal(422, _gh_invalid(detail, _STATUS_DOCS))
        context = body.get("context", "default")
        description = body.get("description")
        target_url = body.get("target_url")
        for name, value in (("context", context), ("description", description)):
            if value is not None and not isinstance(value, str):
                detail = f"For 'properties/{name}', {json.dumps(value)} is not a string."
                raise _Refusal(422, _gh_invalid(detail, _STATUS_DOCS))
        if target_url is not None and not isinstance(target_url, str):
            detail = f"For 'properties/target_url', {json.dumps(target_url)} is not a string."
            raise _Refusal(422, _gh_invalid(detail, _STATUS_DOCS))
        if description is not None and len(description) > GITHUB_DESCRIPTION_MAX:
            message = f"description is too long (maximum is {GITHUB_DESCRIPTION_MAX} characters)"
            error = {"resource": "Status", "code": "custom", "field": "description"}
            raise _Refusal(422, _gh_failed({**error, "message": message}, _STATUS_DOCS))
        post = StatusPost(GITHUB, f"{owner}/{repo}", sha, context, state, description, target_url)
        with self._lock:
            self._statuses.append(post)
            status_id = self._new_id()
        return _Reply(201, _gh_status_view(post, status_id, self.github_url))

    def _gh_post(self, owner: str, repo: str, number: str, body: dict[str, Any]) -> _Reply:
        text = _gh_comment_body(body, _CREATE_COMMENT_DOCS)
        now = _now()
        with self._lock:
            comment = Comment(
                GITHUB, f"{owner}/{repo}", int(number), str(self._new_id()), text, 0, now, now
            )
            self._comments[comment.id] = comment
            self.comment_posts += 1
        return _Reply(201, _gh_comment_view(comment, self.github_url))

    def _gh_edit(self, owner: str, repo: str, comment_id: str, body: dict[str, Any]) -> _Reply:
        with self._lock:
            known = self._comments.get(comment_id)
        if known is None or known.provider != GITHUB or known.project != f"{owner}/{repo}":
            raise _Refusal(404, _gh_error("Not Found", "404", _UPDATE_COMMENT_DOCS))
        text = _gh_comment_body(body, _UPDATE_COMMENT_DOCS)
        with self._lock:
            edited = self._edit(comment_id, text)
        return _Reply(200, _gh_comment_view(edited, self.github_url))

    # -- GitLab ------------------------------------------------------------------------------

    def _gl_status(self, project: str, sha: str, body: dict[str, Any]) -> _Reply:
        if not _SHA.match(sha):
            raise _Refusal(404, {"message": "404 Commit Not Found"})
        state = body.get("state")
        if state is None:
            raise _Refusal(400, {"error": "state is missing"})
        if state not in GITLAB_STATES:
            raise _Refusal(400, {"error": "state does not have a valid value"})
        name = body.get("name", body.get("context", "default"))
        if not isinstance(name, str):
            raise _Refusal(400, {"error": "name is invalid"})
        description = _gl_text(body, "description")
        target_url = _gl_text(body, "target_url")
        if target_url is not None and not target_url.startswith(("http://", "https://")):
            blocked = "is blocked: Only allowed schemes are http, https"
            raise _Refusal(400, {"message": {"target_url": [blocked]}})
        with self._lock:
            self._gl_transition((project, sha, name), state)
            post = StatusPost(GITLAB, project, sha, name, state, description, target_url)
            self._statuses.append(post)
            status_id = self._new_id()
        return _Reply(201, _gl_status_view(post, status_id))

    def _gl_transition(self, key: tuple[str, str, str], state: str) -> None:
        """GitLab re-fires the state's event on a pending/running status, which it refuses."""
        current = self._gitlab_current.get(key)
        if current == state and state in _GITLAB_EVENTS:
            event = _GITLAB_EVENTS[state]
            message = (
                f"Cannot transition status via :{event} from :{state} "
                f'(Reason(s): Status cannot transition via "{event}")'
            )
            raise _Refusal(400, {"message": message})
        self._gitlab_current[key] = state

    def _gl_post(self, project: str, iid: str, body: dict[str, Any]) -> _Reply:
        text = _gl_note_body(body)
        now = _now()
        with self._lock:
            note = Comment(GITLAB, project, int(iid), str(self._new_id()), text, 0, now, now)
            self._comments[note.id] = note
            self.comment_posts += 1
            project_id = self._gitlab_project_id(project)
        return _Reply(201, _gl_note_view(note, project_id))

    def _gl_edit(self, project: str, iid: str, note_id: str, body: dict[str, Any]) -> _Reply:
        with self._lock:
            known = self._comments.get(note_id)
        if known is None or (known.provider, known.project, known.number) != (
            GITLAB,
            project,
            int(iid),
        ):
            raise _Refusal(404, {"message": "404 Not found"})
        text = _gl_note_body(body)
        with self._lock:
            edited = self._edit(note_id, text)
            project_id = self._gitlab_project_id(project)
        return _Reply(200, _gl_note_view(edited, project_id))

    # -- shared state (callers hold the lock) ------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _edit(self, comment_id: str, text: str) -> Comment:
        old = self._comments[comment_id]
        edited = replace(old, body=text, edits=old.edits + 1, updated_at=_now())
        self._comments[comment_id] = edited
        self.comment_edits += 1
        return edited

    def _gitlab_project_id(self, project: str) -> int:
        if project.isdigit():
            return int(project)
        return self._gitlab_ids.setdefault(project, 100 + len(self._gitlab_ids))


# -- request parsing and validation ---------------------------------------------------------


def _split_provider(path: str) -> tuple[str | None, str]:
    for provider, prefix in ((GITHUB, GITHUB_PREFIX), (GITLAB, GITLAB_PREFIX)):
        if path.startswith(prefix + "/"):
            return provider, path[len(prefix) :]
    return None, path


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def _json_object(provider: str, raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    if provider == GITHUB:
        raise _Refusal(400, _gh_error("Problems parsing JSON", "400"))
    raise _Refusal(400, {"error": "The provided content-type is not supported or body invalid"})


def _gh_comment_body(body: dict[str, Any], docs: str) -> str:
    text = body.get("body")
    if text is None:
        raise _Refusal(422, _gh_invalid('"body" wasn\'t supplied.', docs))
    if not isinstance(text, str):
        detail = f"For 'properties/body', {json.dumps(text)} is not a string."
        raise _Refusal(422, _gh_invalid(detail, docs))
    error = {"resource": "IssueComment", "code": "unprocessable", "field": "data"}
    if not text.strip():
        raise _Refusal(422, _gh_failed({**error, "message": "Body cannot be blank"}, docs))
    if len(text) > GITHUB_COMMENT_MAX:
        message = f"Body is too long (maximum is {GITHUB_COMMENT_MAX} characters)"
        raise _Refusal(422, _gh_failed({**error, "message": message}, docs))
    return text


def _gl_note_body(body: dict[str, Any]) -> str:
    text = body.get("body")
    if text is None:
        raise _Refusal(400, {"error": "body is missing"})
    if not isinstance(text, str):
        raise _Refusal(400, {"error": "body is invalid"})
    if not text.strip():
        raise _Refusal(400, {"message": {"note": ["can't be blank"]}})
    if len(text) > GITLAB_NOTE_MAX:
        message = f"is too long (maximum is {GITLAB_NOTE_MAX} characters)"
        raise _Refusal(400, {"message": {"note": [message]}})
    return text


def _gl_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Refusal(400, {"error": f"{name} is invalid"})
    if len(value) > GITLAB_FIELD_MAX:
        message = f"is too long (maximum is {GITLAB_FIELD_MAX} characters)"
        raise _Refusal(400, {"message": {name: [message]}})
    return value


# -- answers ----------------------------------------------------------------------------------


def _gh_error(message: str, status: str, docs: str = _DOCS) -> dict[str, Any]:
    return {"message": message, "documentation_url": docs, "status": status}


def _gh_invalid(detail: str, docs: str) -> dict[str, Any]:
    return _gh_error(f"Invalid request.\n\n{detail}", "422", docs)


def _gh_failed(error: dict[str, str], docs: str) -> dict[str, Any]:
    return {**_gh_error("Validation Failed", "422", docs), "errors": [error]}


def _not_found(provider: str) -> _Reply:
    if provider == GITHUB:
        return _Reply(404, _gh_error("Not Found", "404"))
    return _Reply(404, {"error": "404 Not Found"})


def _outage_reply(provider: str | None, outage: _Outage) -> _Reply:
    phrase = HTTPStatus(outage.status).phrase
    headers: dict[str, str] = {}
    if outage.retry_after is not None:
        headers["Retry-After"] = str(outage.retry_after)
    if provider == GITHUB:
        if outage.status in (403, 429):
            headers["x-ratelimit-remaining"] = "0"
        return _Reply(outage.status, _gh_error(phrase, str(outage.status)), headers)
    return _Reply(outage.status, {"message": f"{outage.status} {phrase}"}, headers)


def _gh_user() -> dict[str, Any]:
    return {
        "login": "stackrun-bot",
        "id": 4242,
        "node_id": "MDQ6VXNlcjQyNDI=",
        "avatar_url": "https://avatars.example.com/u/4242",
        "url": "https://api.github.com/users/stackrun-bot",
        "html_url": "https://github.com/stackrun-bot",
        "type": "Bot",
        "site_admin": False,
    }


def _gh_status_view(post: StatusPost, status_id: int, api: str) -> dict[str, Any]:
    now = _now()
    return {
        "url": f"{api}/repos/{post.project}/statuses/{post.sha}",
        "avatar_url": "https://avatars.example.com/u/4242",
        "id": status_id,
        "node_id": f"SC_kwDO{status_id}",
        "state": post.state,
        "description": post.description,
        "target_url": post.target_url,
        "context": post.context,
        "created_at": now,
        "updated_at": now,
        "creator": _gh_user(),
    }


def _gh_comment_view(comment: Comment, api: str) -> dict[str, Any]:
    repo_api = f"{api}/repos/{comment.project}"
    return {
        "id": int(comment.id),
        "node_id": f"IC_kwDO{comment.id}",
        "url": f"{repo_api}/issues/comments/{comment.id}",
        "html_url": f"https://github.example.com/{comment.project}/pull/{comment.number}"
        f"#issuecomment-{comment.id}",
        "issue_url": f"{repo_api}/issues/{comment.number}",
        "body": comment.body,
        "user": _gh_user(),
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "author_association": "NONE",
        "performed_via_github_app": None,
    }


def _gl_author() -> dict[str, Any]:
    return {
        "id": 28,
        "username": "stackrun-bot",
        "name": "stackrun",
        "state": "active",
        "avatar_url": "https://gitlab.example.com/uploads/user/avatar/28/bot.png",
        "web_url": "https://gitlab.example.com/stackrun-bot",
    }


def _gl_status_view(post: StatusPost, status_id: int) -> dict[str, Any]:
    now = _now()
    finished = post.state in ("success", "failed", "canceled", "skipped")
    return {
        "id": status_id,
        "sha": post.sha,
        "ref": None,
        "status": post.state,
        "name": post.context,
        "target_url": post.target_url,
        "description": post.description,
        "created_at": now,
        "started_at": now if post.state != "pending" else None,
        "finished_at": now if finished else None,
        "allow_failure": False,
        "coverage": None,
        "author": _gl_author(),
    }


def _gl_note_view(note: Comment, project_id: int) -> dict[str, Any]:
    return {
        "id": int(note.id),
        "type": None,
        "body": note.body,
        "attachment": None,
        "author": _gl_author(),
        "created_at": note.created_at,
        "updated_at": note.updated_at,
        "system": False,
        "noteable_id": 50_000 + note.number,
        "noteable_type": "MergeRequest",
        "project_id": project_id,
        "noteable_iid": note.number,
        "resolvable": False,
        "confidential": False,
        "internal": False,
        "imported": False,
        "imported_from": "none",
    }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
