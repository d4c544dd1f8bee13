"""The provider-neutral shape of a webhook delivery."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from orchestrator.models import MAX_INTEGER


class MalformedPayload(ValueError):
    """The body is not the JSON document the provider's event promises."""


@dataclass(frozen=True)
class RepoRef:
    """How a delivery names its repository: clone URLs and the owner/name."""

    full_name: str
    urls: tuple[str, ...]


@dataclass(frozen=True)
class PushEvent:
    ref: str
    before: str
    after: str
    pusher: str
    repo: RepoRef

    @property
    def branch(self) -> str | None:
        prefix = "refs/heads/"
        return self.ref[len(prefix) :] if self.ref.startswith(prefix) else None


@dataclass(frozen=True)
class ReviewEvent:
    """A pull request (GitHub) or merge request (GitLab) opened, updated, reopened or closed."""

    number: int  # GitHub pull_request.number; GitLab object_attributes.iid
    action: str  # neutral: "opened" | "synchronize" | "reopened" | "closed" | "ignored"
    head_sha: str  # full hex commit id of the head (source) branch tip
    head_branch: str  # source branch name (no refs/heads/ prefix)
    base_branch: str  # target branch name
    author: str  # login/username of whoever caused the event (sender / user), "" if absent
    title: str
    repo: RepoRef  # the BASE repository (where the PR/MR lives)
    head_clone_url: str  # the head repository's clone URL for forks; "" when it is the base
    reason: str = ""  # for action "ignored": why


REVIEW_ACTIONS = frozenset({"opened", "synchronize", "reopened", "closed", "ignored"})


def require_str(payload: dict[str, Any], *path: str) -> str:
    value: Any = payload
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise MalformedPayload(f"missing field {'.'.join(path)}")
        value = value[key]
    if not isinstance(value, str):
        raise MalformedPayload(f"field {'.'.join(path)} must be a string")
    return value


_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def require_sha(payload: dict[str, Any], key: str) -> str:
    """A full commit id (SHA-1 or SHA-256 hex), never anything git could read as an option."""
    value = require_str(payload, key)
    if not _SHA.match(value):
        raise MalformedPayload(f"field {key} must be a full hex commit id, got {value[:50]!r}")
    return value


def require_sha_at(payload: dict[str, Any], *path: str) -> str:
    """require_sha for a nested field, e.g. ("pull_request", "head", "sha")."""
    value = require_str(payload, *path)
    if not _SHA.match(value):
        raise MalformedPayload(
            f"field {'.'.join(path)} must be a full hex commit id, got {value[:50]!r}"
        )
    return value


def require_int(payload: dict[str, Any], *path: str) -> int:
    value: Any = payload
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise MalformedPayload(f"missing field {'.'.join(path)}")
        value = value[key]
    # bool is an int subclass, but true is no pull request number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedPayload(f"field {'.'.join(path)} must be an integer")
    if not 0 <= value <= MAX_INTEGER:
        raise MalformedPayload(f"field {'.'.join(path)} must be between 0 and {MAX_INTEGER}")
    return value


def require_branch(payload: dict[str, Any], *path: str) -> str:
    """A bare branch name: not empty, and never anything git could read as an option."""
    value = require_str(payload, *path)
    if not value or value.startswith("-") or any(c < " " or c == "\x7f" for c in value):
        raise MalformedPayload(f"field {'.'.join(path)} must be a branch name, got {value[:50]!r}")
    return value


def optional_str(payload: dict[str, Any], *path: str) -> str:
    try:
        return require_str(payload, *path)
    except MalformedPayload:
        return ""


def optional_int(payload: dict[str, Any], *path: str) -> int | None:
    try:
        return require_int(payload, *path)
    except MalformedPayload:
        return None
