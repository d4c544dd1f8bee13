"""The only importer of hcl2: HCL text in, plain Python values out, errors as data."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import hcl2
from hcl2 import SerializationOptions

PARSE_TIME_LIMIT = 10.0
MAX_FILE_BYTES = 4 * 1024 * 1024
_OPTIONS = SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)


@dataclass(frozen=True)
class HclError:
    """A file that could not be parsed: where and why."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ParseTimeout(Exception):
    """hcl2 took longer than the per-file limit."""


class BudgetSpent(Exception):
    """The caller's time budget (see `deadline`) ran out during a parse: it says nothing about
    the text, so it is raised, never returned (and never cached) as an HclError."""


_DEADLINE: ContextVar[float | None] = ContextVar("stackrun_hcl_deadline", default=None)


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Parses inside stop at the `time.monotonic()` instant `at` (BudgetSpent)."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _limit_for(time_limit: float) -> tuple[float, bool]:
    """The time this parse may take, and whether that is the caller's budget."""
    at = _DEADLINE.get()
    if at is None:
        return time_limit, False
    remaining = at - time.monotonic()
    if remaining <= 0:
        raise BudgetSpent
    return (remaining, True) if remaining < time_limit else (time_limit, False)


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """SIGALRM-based limit; only the main thread can take signals, elsewhere no limit."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise ParseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def parse(
    text: str,
    filename: str,
    time_limit: float = PARSE_TIME_LIMIT,
    max_bytes: int | None = MAX_FILE_BYTES,
) -> dict[str, Any] | HclError:
    """Parse one .tf, .hcl or .tf.json file into a dict of top-level blocks. `max_bytes` None:
    the caller has already bounded the text (the graph's own limits)."""
    if filename.endswith(".json"):
        return _parse_json(text, filename)
    if max_bytes is not None and len(text) > max_bytes:
        return HclError(filename, None, f"file is larger than {max_bytes} bytes")
    limit, budgeted = _limit_for(time_limit)
    try:
        with _time_limit(limit):
            result = hcl2.loads(text, serialization_options=_OPTIONS)
    except ParseTimeout:
        if budgeted:
            raise BudgetSpent from None
        return HclError(filename, None, f"parsing took longer than {time_limit:g}s")
    except Exception as exc:  # hcl2 raises lark errors of many kinds
        return HclError(filename, _line_of(exc), _message_of(exc))
    return dict(result)


def _line_of(exc: Exception) -> int | None:
    line = getattr(exc, "line", None)
    return line if isinstance(line, int) and line > 0 else None


def _message_of(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "an expression is nested too deeply to parse"
    token = getattr(exc, "token", None)
    column = getattr(exc, "column", None)
    if token is not None:
        where = f" at column {column}" if isinstance(column, int) else ""
        shown = str(token).strip()[:40]
        return f"unexpected {shown!r}{where}" if shown else f"unexpected end of input{where}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _parse_json(text: str, filename: str) -> dict[str, Any] | HclError:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return HclError(filename, exc.lineno, exc.msg)
    except ValueError as exc:  # a number past Python's digit limit
        return HclError(filename, None, f"not read as JSON: {exc}")
    except RecursionError:
        return HclError(filename, None, "not read as JSON: nested too deeply")
    if not isinstance(value, dict):
        return HclError(filename, 1, "a .tf.json file must hold a JSON object")
    return _json_blocks_as_lists(value)


def _json_blocks_as_lists(value: dict[str, Any]) -> dict[str, Any]:
    """Shape .tf.json like parsed HCL: every top-level block is a list of bodies."""
    return {key: body if isinstance(body, list) else [body] for key, body in value.items()}
