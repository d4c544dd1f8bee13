"""Redaction of secrets (and their encoded forms) and credential shapes in logs and messages."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from typing import TypeAlias
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET_LENGTH = 4

_PRIVATE_KEY = r"[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_PEM_BEGIN = re.compile(r"-----BEGIN " + _PRIVATE_KEY)
_PEM_END = re.compile(r"-----END " + _PRIVATE_KEY)
_BEARER_CHAR = r"[A-Za-z0-9\-._~+/]"
_Tree: TypeAlias = "dict[str, _Tree]"

# Well-known credential shapes, masked even when nobody registered them. Each alternative has
# one named group: the part replaced (a label such as `aws_secret_access_key = ` stays).
_SHAPES = re.compile(
    "|".join(
        [
            r"\b(?P<aws_key_id>(?:AKIA|ASIA)[A-Z0-9]{16})\b",
            r"(?i:(?:aws[_-]?)?secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key)"
            r"""[\\"']{0,2}\s*(?:=>|[:=])\s*[\\"']{0,2}"""
            r"(?P<aws_secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
            r"(?<![A-Za-z0-9_])(?P<github_token>gh[pousr]_[A-Za-z0-9]{36,})",
            r"(?<![A-Za-z0-9_])(?P<github_pat>github_pat_[A-Za-z0-9_]{22,})",
            # A bearer token has a digit or is long: "a Bearer token" in prose stays readable.
            rf"(?i:\bbearer)\s+(?={_BEARER_CHAR}*[0-9]|{_BEARER_CHAR}{{20}})"
            rf"(?P<bearer>{_BEARER_CHAR}{{8,}}=*)",
        ]
    )
)

# Each shape contains one of these (lowercased): a line with none skips the shape regex.
_SHAPE_HINTS = ("akia", "asia", "gh", "github_pat", "bearer", "secret")


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


def secret_forms(value: str) -> set[str]:
    """What a secret may look like in output: raw, base64, URL-encoded, JSON-escaped, per line."""
    if len(value) < _MIN_SECRET_LENGTH:
        return set()
    raw = value.encode()
    forms = {value, quote(value, safe=""), quote_plus(value)}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms.update((encoded, encoded.rstrip("=")))
    forms.update((json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]))
    forms.update(line.strip() for line in value.splitlines())
    return {form for form in forms if len(form) >= _MIN_SECRET_LENGTH}


def _alternation(words: Iterable[str]) -> str:
    """A regex of `words` as a prefix tree (longest first): one step per character, not per word."""
    tree: _Tree = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _subtree(tree)


def _subtree(node: _Tree) -> str:
    """The regex of one prefix-tree node: its branches, then (optionally) the end of a word."""
    branches = []
    for char in sorted(c for c in node if c):
        run = [char]
        child = node[char]
        while len(child) == 1 and "" not in child:  # a chain of single children: one literal
            ((char, grandchild),) = child.items()
            run.append(char)
            child = grandchild
        branches.append(re.escape("".join(run)) + _subtree(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:  # a word may also end here: the longer branches are tried first
        return f"(?:{body})?"
    return body


def _compile(words: set[str]) -> re.Pattern[str] | None:
    """One regex matching every registered form, or None when there is none."""
    if not words:
        return None
    try:
        return re.compile(_alternation(words))
    except (RecursionError, re.error):  # pathologically nested secrets: a flat alternation
        return re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined (touching ones stay apart: two secrets in a row are two ***)."""
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start < last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


class Masker:
    """Replaces every configured secret in any of its forms, and credential shapes, with ***.

    A private key block is masked whole within one text; when texts come one line at a time
    (a run log), the lines from a BEGIN … PRIVATE KEY line to its END line are masked, so
    calls to one masker are treated as consecutive pieces of one stream."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._stale = False
        self._in_private_key = False
        self._lock = threading.Lock()
        for value in secret_values:
            self.add(value)

    def add(self, value: str) -> None:
        """Mask `value` (if at least 4 characters) and its encoded forms from now on."""
        forms = secret_forms(value)
        with self._lock:
            if not forms <= self._forms:
                self._forms |= forms
                self._stale = True

    def __call__(self, text: str) -> str:
        """`text` with secrets, credential shapes and private key blocks replaced by ***."""
        with self._lock:
            if self._stale:
                self._pattern = _compile(self._forms)
                self._stale = False
            pattern = self._pattern
            spans = self._private_key_spans(text)
        if pattern is not None:
            spans += _secret_spans(pattern, text)
        lowered = text.lower()
        if any(hint in lowered for hint in _SHAPE_HINTS):
            spans += [
                match.span(match.lastgroup) for match in _SHAPES.finditer(text) if match.lastgroup
            ]
        if not spans:
            return text
        pieces: list[str] = []
        position = 0
        for start, end in _merged(spans):
            pieces += (text[position:start], MASK)
            position = end
        pieces.append(text[position:])
        return "".join(pieces)

    def _private_key_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of private key blocks, continuing a block left open by the previous text."""
        spans: list[tuple[int, int]] = []
        if not self._in_private_key and "-----BEGIN " not in text:
            return spans
        position = 0
        while True:
            if self._in_private_key:
                end = _PEM_END.search(text, position)
                if end is None:
                    if position < len(text):
                        spans.append((position, len(text)))
                    return spans
                spans.append((position, end.end()))
                position = end.end()
                self._in_private_key = False
            begin = _PEM_BEGIN.search(text, position)
            if begin is None:
                return spans
            position = begin.start()
            self._in_private_key = True


def _secret_spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Where secrets occur; a secret starting inside another occurrence extends its span."""
    spans: list[tuple[int, int]] = []
    position = 0
    while (found := pattern.search(text, position)) is not None:
        start, end = found.span()
        for inner in range(start + 1, end):
            overlapping = pattern.match(text, inner)
            if overlapping is not None and overlapping.end() > end:
                end = overlapping.end()
        spans.append((start, end))
        position = end
    return spans
