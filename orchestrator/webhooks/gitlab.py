"""GitLab deliveries: X-Gitlab-Token verification and Push Hook payloads."""

from __future__ import annotations

import hmac
from typing import Any

from orchestrator.webhooks.events import PushEvent, RepoRef, optional_str, require_sha, require_str

TOKEN_HEADER = "x-gitlab-token"  # noqa: S105 (a header name)
EVENT_HEADER = "x-gitlab-event"
DELIVERY_HEADERS = ("idempotency-key", "x-gitlab-event-uuid")
PUSH_EVENT = "Push Hook"


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


def push_event(payload: dict[str, Any]) -> PushEvent:
    return PushEvent(
        ref=require_str(payload, "ref"),
        before=require_sha(payload, "before"),
        after=require_sha(payload, "after"),
        pusher=optional_str(payload, "user_username") or optional_str(payload, "user_name"),
        repo=repo_ref(payload),
    )
