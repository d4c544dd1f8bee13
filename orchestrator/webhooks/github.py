"""GitHub deliveries: X-Hub-Signature-256 verification, push and pull_request payloads."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from orchestrator.webhooks.events import (
    MalformedPayload,
    PushEvent,
    RepoRef,
    ReviewEvent,
    optional_str,
    require_branch,
    require_int,
    require_sha,
    require_sha_at,
    require_str,
)

SIGNATURE_HEADER = "x-hub-signature-256"
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"
PULL_REQUEST_EVENT = "pull_request"

# pull_request actions that move the head or open/close the pull request; GitHub's names are
# already the neutral ones. Every other action (edited, labeled, assigned, review_requested,
# ready_for_review, converted_to_draft, auto_merge_enabled, enqueued, ...) changes no code.
_REVIEW_ACTIONS = frozenset({"opened", "synchronize", "reopened", "closed"})


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time check of GitHub's HMAC SHA-256 over the raw body."""
    # Compare bytes: compare_digest raises TypeError on non-ASCII str, and header values
    # arrive latin-1 decoded, so a forged header must give False, not an exception.
    expected = b"sha256=" + hmac.digest(secret.encode(), body, "sha256").hex().encode()
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


def repo_ref(payload: dict[str, Any]) -> RepoRef:
    full_name = require_str(payload, "repository", "full_name")
    urls = tuple(
        u
        for u in (
            optional_str(payload, "repository", "clone_url"),
            optional_str(payload, "repository", "ssh_url"),
            optional_str(payload, "repository", "git_url"),
            optional_str(payload, "repository", "html_url"),
        )
        if u
    )
    return RepoRef(full_name=full_name, urls=urls)


def push_event(payload: dict[str, Any], repo: RepoRef | None = None) -> PushEvent:
    """The push a delivery describes; `repo` when its repository was already read."""
    return PushEvent(
        ref=require_str(payload, "ref"),
        before=require_sha(payload, "before"),
        after=require_sha(payload, "after"),
        pusher=optional_str(payload, "pusher", "name") or optional_str(payload, "sender", "login"),
        repo=repo or repo_ref(payload),
    )


def review_event(payload: dict[str, Any]) -> ReviewEvent:
    """A pull_request delivery; actions that change no code come back as action "ignored"."""
    action = require_str(payload, "action")
    number = require_int(payload, "pull_request", "number")
    head_sha = require_sha_at(payload, "pull_request", "head", "sha")
    repo = repo_ref(payload)
    handled = action in _REVIEW_ACTIONS
    return ReviewEvent(
        number=number,
        action=action if handled else "ignored",
        head_sha=head_sha,
        head_branch=require_branch(payload, "pull_request", "head", "ref"),
        base_branch=require_branch(payload, "pull_request", "base", "ref"),
        author=optional_str(payload, "sender", "login"),
        title=require_str(payload, "pull_request", "title"),
        repo=repo,
        head_clone_url=_head_clone_url(payload, repo),
        reason="" if handled else f"pull_request action {action[:50]!r} changes no code",
    )


def _head_clone_url(payload: dict[str, Any], base: RepoRef) -> str:
    """The fork's clone URL, or "" when the head branch lives in the base repository.

    GitHub sends head.repo null once a fork is deleted; the head commit is still reachable in
    the base repository as refs/pull/<number>/head, so that case is "" too.
    """
    head_repo: Any = payload["pull_request"]["head"].get("repo")  # head.sha was found first
    if head_repo is None:
        return ""
    if not isinstance(head_repo, dict):
        raise MalformedPayload("field pull_request.head.repo must be an object or null")
    head_name = require_str(payload, "pull_request", "head", "repo", "full_name")
    if head_name.casefold() == base.full_name.casefold():
        return ""
    return require_str(payload, "pull_request", "head", "repo", "clone_url")


def commit_logins(payload: dict[str, Any], sha: str) -> tuple[str, ...]:
    """The GitHub logins a stored delivery whose head is `sha` names as having a hand in it:
    the pusher and the sender, and the author's and committer's usernames in the delivery's
    entry for `sha` (GitHub fills them when the commit's e-mail belongs to an account)."""
    logins = [optional_str(payload, "pusher", "name"), optional_str(payload, "sender", "login")]
    listed: Any = payload.get("commits")
    entries = [payload.get("head_commit"), *(listed if isinstance(listed, list) else [])]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("id") == sha:
            logins.append(optional_str(entry, "author", "username"))
            logins.append(optional_str(entry, "committer", "username"))
    return tuple(dict.fromkeys(login for login in logins if login))
