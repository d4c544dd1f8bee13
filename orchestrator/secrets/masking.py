"""Redaction of secret values in logs and messages."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"
_MIN_SECRET_LENGTH = 4


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
