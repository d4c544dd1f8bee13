"""Terraform's ANSI colours as HTML: every piece of text escaped, SGR codes turned into
spans with classes (`a-b` bold, `a-31` red, …), every other escape sequence dropped. Pure."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_SEQUENCE = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])")
_COLOURS = {str(n) for n in (*range(30, 38), *range(90, 98))}


def _classes(codes: str, current: tuple[str, ...]) -> tuple[str, ...]:
    """The classes after one SGR sequence: 0 (or nothing) resets, 1 is bold, 30 to 37 and
    90 to 97 a foreground colour, 39 the default one; other codes keep what was."""
    classes = list(current)
    for code in codes.split(";") if codes else ["0"]:
        if code in ("0", ""):
            classes = []
        elif code == "1":
            classes = [c for c in classes if c != "a-b"] + ["a-b"]
        elif code in _COLOURS or code == "39":
            classes = [c for c in classes if c == "a-b"]
            if code != "39":
                classes.append(f"a-{code}")
    return tuple(classes)


def to_html(text: str) -> Markup:
    """`text` escaped, its colours as spans; a span never stays open past the end."""
    out: list[str] = []
    classes: tuple[str, ...] = ()
    position = 0
    for match in _SEQUENCE.finditer(text):
        out.append(_span(text[position : match.start()], classes))
        if match.group(2) == "m":
            classes = _classes(match.group(1), classes)
        position = match.end()
    out.append(_span(text[position:], classes))
    return Markup("".join(out))  # noqa: S704 (every piece went through escape() in _span)


def _span(piece: str, classes: tuple[str, ...]) -> str:
    if not piece:
        return ""
    escaped = str(escape(piece.replace("\x1b", "")))
    return f'<span class="{" ".join(classes)}">{escaped}</span>' if classes else escaped
