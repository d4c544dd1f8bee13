"""The provider-neutral shape of a webhook delivery."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


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


def optional_str(payload: dict[str, Any], *path: str) -> str:
    try:
        return require_str(payload, *path)
    except MalformedPayload:
        return ""
