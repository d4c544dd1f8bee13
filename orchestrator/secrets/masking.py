"""Redaction of secret values in logs and messages."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET_LENGTH = 4


def redact_url(url: str) -> str:
    """A URL without the credentials it may carry (https://user:token@host/… → https://***@host/…)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{MASK}@{host}{port}"))


def url_secrets(url: str) -> list[str]:
    """The credential parts of a URL, to add to a Masker."""
    parts = urlsplit(url)
    return [value for value in (parts.password, parts.username) if value]


class Masker:
    """Replaces every configured secret (longest first) with ***."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        for value in secret_values:
            self.add(value)

    def add(self, value: str) -> None:
        if len(value) >= _MIN_SECRET_LENGTH and value not in self._secrets:
            self._secrets.append(value)
            self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._secrets:
            if value in text:
                text = text.replace(value, MASK)
        return text
