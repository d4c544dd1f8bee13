"""GitLab deliveries: X-Gitlab-Token verification, Push Hook and Merge Request Hook payloads."""

from __future__ import annotations

import hmac
from typing import Any

from orchestrator.webhooks.events import (
    MalformedPayload,
    PushEvent,
    RepoRef,
    ReviewEvent,
    optional_int,
    optional_str,
    require_branch,
    require_int,
    require_sha,
    require_sha_at,
    require_str,
)

TOKEN_HEADER = "x-gitlab-token"  # noqa: S105 (a header name)
EVENT_HEADER = "x-gitlab-event"
DELIVERY_HEADERS = ("idempotency-key", "x-gitlab-event-uuid")
PUSH_EVENT = "Push Hook"
MERGE_REQUEST_EVENT = "Merge Request Hook"

# object_attributes.action -> the neutral action. "update" is resolved separately: it is a code
# change only when object_attributes.oldrev is present. The approval actions ("approved",
# "unapproved", "approval", "unapproval") and anything unknown change no code.
_MR_ACTIONS = {"open": "opened", "reopen": "reopened", "close": "closed", "merge": "closed"}


def verify(secret: str, token: str) -> bool:
    return hmac.compare_digest(secret.encode(), token.encode())


def repo_ref(payload: dict[str, Any]) -> RepoRef:
    full_name = require_str(payload, "project", "path_with_namespace")
    urls = tuple(
        u
        for u in (
            optional_str(payload, "project", "git_http_url"),
            optional_str(payload, "project", "git_ssh_url"),
            optional_str(payload, "project", "web_url"),
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
        pusher=optional_str(payload, "user_username") or optional_str(payload, "user_name"),
        repo=repo or repo_ref(payload),
    )


def review_event(payload: dict[str, Any]) -> ReviewEvent:
    """A Merge Request Hook; actions that change no code come back as action "ignored"."""
    attrs = ("object_attributes",)
    action = require_str(payload, *attrs, "action")
    number = require_int(payload, *attrs, "iid")
    head_sha = require_sha_at(payload, *attrs, "last_commit", "id")
    neutral, reason = _neutral_action(payload, action)
    return ReviewEvent(
        number=number,
        action=neutral,
        head_sha=head_sha,
        head_branch=require_branch(payload, *attrs, "source_branch"),
        base_branch=require_branch(payload, *attrs, "target_branch"),
        author=optional_str(payload, "user", "username"),
        title=require_str(payload, *attrs, "title"),
        repo=repo_ref(payload),
        head_clone_url=_head_clone_url(payload),
        reason=reason,
    )


def _neutral_action(payload: dict[str, Any], action: str) -> tuple[str, str]:
    if action in _MR_ACTIONS:
        return _MR_ACTIONS[action], ""
    if action == "update":
        # GitLab sends oldrev only when the source branch moved (a push, an applied suggestion).
        oldrev: Any = payload["object_attributes"].get("oldrev")
        if oldrev is None:
            return "ignored", "merge request update without oldrev (no new commits) changes no code"
        require_sha_at(payload, "object_attributes", "oldrev")
        return "synchronize", ""
    return "ignored", f"merge request action {action[:50]!r} changes no code"


def _head_clone_url(payload: dict[str, Any]) -> str:
    """The source project's clone URL when it is a fork of the target project, else ""."""
    source_id = optional_int(payload, "object_attributes", "source_project_id")
    target_id = optional_int(payload, "object_attributes", "target_project_id")
    if source_id is None or target_id is None or source_id == target_id:
        return ""
    # GitLab sends source null once the source project is deleted; the head commit is still
    # reachable in the target project as refs/merge-requests/<iid>/head.
    source: Any = payload["object_attributes"].get("source")
    if source is None:
        return ""
    if not isinstance(source, dict):
        raise MalformedPayload("field object_attributes.source must be an object or null")
    return require_str(payload, "object_attributes", "source", "git_http_url")
