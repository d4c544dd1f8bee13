"""Find the top-level blocks of an HCL file without parsing it: a small lexer that tracks
strings, template interpolations, heredocs and comments. Pure; no hcl2.

The graph needs a handful of block types (terraform, data "terraform_remote_state", module,
variable, locals); resources are most of a real file and never need parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_LABEL = re.compile(r'"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_-]*)')
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n")


@dataclass(frozen=True)
class TopBlock:
    """A top-level block: its type, labels, and where its text starts and ends."""

    type: str
    labels: tuple[str, ...]
    start: int
    end: int
    line: int


class ScanError(ValueError):
    """Unbalanced braces, an unterminated string or heredoc."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _skip_comment(text: str, i: int) -> int:
    """If a comment starts at i, return the index after it; else i."""
    if text.startswith("#", i) or text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        if end < 0:
            raise ScanError("unterminated /* comment", text.count("\n", 0, i) + 1)
        return end + 2
    return i


def _skip_heredoc(text: str, i: int) -> int:
    match = _HEREDOC.match(text, i)
    if not match:
        return i
    marker = match.group(1)
    terminator = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*$", re.MULTILINE)
    found = terminator.search(text, match.end())
    if not found:
        raise ScanError(f"heredoc <<{marker} is never closed", text.count("\n", 0, i) + 1)
    return found.end()


def _skip_string(text: str, i: int) -> int:
    """i points at an opening quote; return the index after the closing quote."""
    j = i + 1
    length = len(text)
    while j < length:
        char = text[j]
        if char == "\\":
            j += 2
            continue
        if char == '"':
            return j + 1
        if char == "\n":
            break
        if text.startswith("${", j) or text.startswith("%{", j):
            j = _skip_expression(text, j + 2, "}")
            continue
        j += 1
    raise ScanError("unterminated string", text.count("\n", 0, i) + 1)


def _skip_expression(text: str, i: int, closer: str) -> int:
    """Skip nested code until the matching closer; return the index after it."""
    expected = [closer]
    length = len(text)
    openers = {"{": "}", "(": ")", "[": "]"}
    j = i
    while j < length:
        skipped = _skip_comment(text, j)
        if skipped != j:
            j = skipped
            continue
        char = text[j]
        if char == '"':
            j = _skip_string(text, j)
            continue
        if char == "<" and text.startswith("<<", j):
            skipped = _skip_heredoc(text, j)
            if skipped != j:
                j = skipped
                continue
        if char in openers:
            expected.append(openers[char])
        elif char in "})]":
            if char != expected[-1]:
                raise ScanError(f"unexpected {char!r}", text.count("\n", 0, j) + 1)
            expected.pop()
            if not expected:
                return j + 1
        j += 1
    raise ScanError(f"missing {closer!r}", text.count("\n", 0, i) + 1)


def top_blocks(text: str) -> list[TopBlock]:
    """Every top-level block of an HCL body, in file order."""
    blocks: list[TopBlock] = []
    i, length = 0, len(text)
    while i < length:
        skipped = _skip_comment(text, i)
        if skipped != i:
            i = skipped
            continue
        if text[i].isspace():
            i += 1
            continue
        ident = _IDENT.match(text, i)
        if not ident:
            raise ScanError(f"unexpected {text[i]!r} at top level", text.count("\n", 0, i) + 1)
        start, j = i, ident.end()
        labels: list[str] = []
        while True:
            while j < length and text[j] in " \t":
                j += 1
            label = _LABEL.match(text, j)
            if label and text[j] != "{":
                labels.append(label.group(1) if label.group(1) is not None else label.group(2))
                j = label.end()
                continue
            break
        if j < length and text[j] == "{":
            end = _skip_expression(text, j + 1, "}")
            line = text.count("\n", 0, start) + 1
            blocks.append(TopBlock(ident.group(0), tuple(labels), start, end, line))
            i = end
            continue
        i = _skip_attribute(text, j)
    return blocks


def _skip_attribute(text: str, i: int) -> int:
    """A top-level `name = value` (tfvars): skip to the end of its value."""
    while i < len(text) and text[i] in " \t":
        i += 1
    if i >= len(text) or text[i] != "=":
        raise ScanError("expected a block or an attribute", text.count("\n", 0, i) + 1)
    j = i + 1
    while j < len(text):
        skipped = _skip_comment(text, j)
        if skipped != j:
            j = skipped
            continue
        char = text[j]
        if char == "\n":
            return j + 1
        if char == '"':
            j = _skip_string(text, j)
        elif char == "<" and _skip_heredoc(text, j) != j:
            j = _skip_heredoc(text, j)
        elif char in "{([":
            j = _skip_expression(text, j + 1, {"{": "}", "(": ")", "[": "]"}[char])
        else:
            j += 1
    return j
