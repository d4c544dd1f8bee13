"""The values static evaluation gives: a literal (str, number, bool, list, dict), `Unresolved`
(nothing is known, with the reason) or `Partial` (a string whose some parts are known only at
deploy time: `"${var.stackname}/infra-vpc.tfstate"` is `*/infra-vpc.tfstate`). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_MAX_REASON = 200


@dataclass(frozen=True)
class Unresolved:
    """Nothing is known of the value. `deploy_time`: it is set when Terraform runs (a variable
    without a value here, a data source, the workspace), so the text around it still says
    something; otherwise the expression is beyond static evaluation (a loop, a value too long,
    a function not known) and so is any string built from it."""

    reason: str
    deploy_time: bool = False


@dataclass(frozen=True)
class Partial:
    """A string of known parts and unknown ones (None); `reason` says why the first unknown
    part is unknown."""

    parts: tuple[str | None, ...]
    reason: str

    @property
    def pattern(self) -> str:
        return "".join("*" if part is None else part for part in self.parts)

    def regex(self) -> re.Pattern[str]:
        return re.compile("".join(".*" if p is None else re.escape(p) for p in self.parts))


def is_known(value: Any) -> bool:
    return not isinstance(value, Unresolved | Partial)


def shorten(text: str, limit: int = _MAX_REASON) -> str:
    """The whole expression, or past `limit` characters its whole tokens up to there and …"""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(c, 0, limit) for c in " ,()[]{}")
    return text[: cut if cut > 0 else limit].rstrip() + " …"


def concatenate(values: list[Any]) -> Any:
    parts: list[str | None] = []
    reason: str | None = None
    for value in values:
        if isinstance(value, Unresolved) and not value.deploy_time:
            return value
        if isinstance(value, Unresolved):
            parts.append(None)
            reason = reason or value.reason
        elif isinstance(value, Partial):
            parts.extend(value.parts)
            reason = reason or value.reason
        elif isinstance(value, dict | list):
            return Unresolved(f"{_shown(value)} is not a string")
        else:
            parts.append(as_text(value))
    if reason is None:
        return "".join(p or "" for p in parts)
    merged = _merge(parts)
    if all(p is None for p in merged):
        return Unresolved(reason, deploy_time=True)
    return Partial(merged, reason)


def _merge(parts: list[str | None]) -> tuple[str | None, ...]:
    merged: list[str | None] = []
    for part in parts:
        if part == "":
            continue
        if merged and (part is None) == (merged[-1] is None):
            previous = merged[-1]
            merged[-1] = None if part is None else (previous or "") + part
        else:
            merged.append(part)
    return tuple(merged)


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _shown(value: Any) -> str:
    return shorten(repr(value), 60)
