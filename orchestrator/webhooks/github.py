"""GitHub deliveries: X-Hub-Signature-256 verification and push payloads."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from orchestrator.webhooks.events import (
    PushEvent,
    RepoRef,
    optional_str,
    require_sha,
    require_str,
)

SIGNATURE_HEADER = "x-hub-signature-256"
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time check of GitHub's HMAC SHA-256 over the raw body."""
    # Compare bytes: compare_digest raises TypeError on non-ASCII str, and header values
    # arrive latin-1 decoded, so a forged header must give False, not an exception.
    expected = sign(secret, body).encode()
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


def push_event(payload: dict[str, Any]) -> PushEvent:
    return PushEvent(
        ref=require_str(payload, "ref"),
        before=require_sha(payload, "before"),
        after=require_sha(payload, "after"),
        pusher=optional_str(payload, "pusher", "name") or optional_str(payload, "sender", "login"),
        repo=repo_ref(payload),
    )
