"""Find the top-level blocks of an HCL file without parsing it: a small lexer that tracks
strings, template interpolations, heredocs and comments. Pure; no hcl2.

The graph needs a handful of block types (terraform, data "terraform_remote_state", module,
variable, locals); resources are most of a real file and never need parsing.

Linear in the size of the text: regular expressions jump from one character that matters to
the next, nesting is an explicit stack (no recursion, so no depth limit to hit), and line
numbers are counted forward from the previous block, never again from the start of the file."""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_LABEL = re.compile(r'"((?:[^"\\\n]|\\.)*)"|([A-Za-z_][A-Za-z0-9_-]*)')
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n")
_SPACE = re.compile(r"\s+")
# The characters that can change what the scanner is inside of; everything between is skipped
# by one regex search.
_CODE_STOP = re.compile(r'["#/<{}()\[\]]')
_STRING_STOP = re.compile(r'["\\\n$%]')
_ATTRIBUTE_STOP = re.compile(r'["#/<{(\[\n]')
_CLOSERS = {"{": "}", "(": ")", "[": "]"}
_QUOTE = '"'


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


def line_at(text: str, index: int) -> int:
    """The 1-based line of `index` (for an error: counted once, not per block)."""
    return text.count("\n", 0, index) + 1


def _skip_comment(text: str, i: int) -> int:
    """If a comment starts at i, return the index after it; else i."""
    if text.startswith("#", i) or text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        if end < 0:
            raise ScanError("unterminated /* comment", line_at(text, i))
        return end + 2
    return i


def _skip_heredoc(text: str, i: int) -> int:
    """If a heredoc starts at i, return the index after its closing marker; else i."""
    match = _HEREDOC.match(text, i)
    if not match:
        return i
    marker = match.group(1)
    terminator = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*\r?$", re.MULTILINE)
    found = terminator.search(text, match.end())
    if not found:
        raise ScanError(f"heredoc <<{marker} is never closed", line_at(text, i))
    return found.end()


def _skip_group(text: str, start: int) -> int:
    """text[start] opens a string or a bracket; return the index after what closes it.

    The stack holds what each open context waits for: a closing bracket for code, a quote for
    a string (whose `${` and `%{` open code again)."""
    stack = [_QUOTE if text[start] == _QUOTE else _CLOSERS[text[start]]]
    opened = [start]
    j = start + 1
    while stack:
        if stack[-1] == _QUOTE:
            j = _step_in_string(text, j, stack, opened)
        else:
            j = _step_in_code(text, j, stack, opened)
    return j


def _step_in_string(text: str, j: int, stack: list[str], opened: list[int]) -> int:
    found = _STRING_STOP.search(text, j)
    if found is None or found.group() == "\n":
        raise ScanError("unterminated string", line_at(text, opened[-1]))
    j = found.start()
    char = found.group()
    if char == _QUOTE:
        stack.pop()
        opened.pop()
        return j + 1
    if char == "\\":
        return j + 2
    if text.startswith(char + char + "{", j):  # $${ and %%{ are literal text
        return j + 3
    if text.startswith("{", j + 1):
        stack.append("}")
        opened.append(j)
        return j + 2
    return j + 1


def _step_in_code(text: str, j: int, stack: list[str], opened: list[int]) -> int:
    found = _CODE_STOP.search(text, j)
    if found is None:
        raise ScanError(f"missing {stack[-1]!r}", line_at(text, opened[-1]))
    j = found.start()
    char = found.group()
    if char == _QUOTE:
        stack.append(_QUOTE)
        opened.append(j)
        return j + 1
    if char in "#/":
        skipped = _skip_comment(text, j)
        return skipped if skipped != j else j + 1
    if char == "<":
        skipped = _skip_heredoc(text, j)
        return skipped if skipped != j else j + 1
    if char in _CLOSERS:
        stack.append(_CLOSERS[char])
        opened.append(j)
    elif char != stack[-1]:
        raise ScanError(f"unexpected {char!r}", line_at(text, j))
    else:
        stack.pop()
        opened.pop()
    return j + 1


def top_blocks(text: str) -> list[TopBlock]:
    """Every top-level block of an HCL body, in file order."""
    blocks: list[TopBlock] = []
    i, length = 0, len(text)
    line, counted_to = 1, 0
    while i < length:
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
            continue
        skipped = _skip_comment(text, i)
        if skipped != i:
            i = skipped
            continue
        ident = _IDENT.match(text, i)
        if not ident:
            raise ScanError(f"unexpected {text[i]!r} at top level", line_at(text, i))
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
            end = _skip_group(text, j)
            line += text.count("\n", counted_to, start)
            counted_to = start
            blocks.append(TopBlock(ident.group(0), tuple(labels), start, end, line))
            i = end
            continue
        i = _skip_attribute(text, j)
    return blocks


def _skip_attribute(text: str, i: int) -> int:
    """A top-level `name = value` (tfvars): skip to the end of its value."""
    length = len(text)
    while i < length and text[i] in " \t":
        i += 1
    if i >= length or text[i] != "=":
        raise ScanError("expected a block or an attribute", line_at(text, i))
    j = i + 1
    while True:
        found = _ATTRIBUTE_STOP.search(text, j)
        if found is None:
            return length
        j = found.start()
        char = found.group()
        if char == "\n":
            return j + 1
        if char in "#/":
            skipped = _skip_comment(text, j)
            j = skipped if skipped != j else j + 1
        elif char == "<":
            skipped = _skip_heredoc(text, j)
            j = skipped if skipped != j else j + 1
        else:
            j = _skip_group(text, j)
