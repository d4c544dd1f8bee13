"""The only importer of hcl2: HCL text in, plain Python values out, errors as data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import hcl2
from hcl2 import SerializationOptions

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


def parse(text: str, filename: str) -> dict[str, Any] | HclError:
    """Parse one .tf, .hcl or .tf.json file into a dict of top-level blocks."""
    if filename.endswith(".json"):
        return _parse_json(text, filename)
    try:
        result = hcl2.loads(text, serialization_options=_OPTIONS)
    except Exception as exc:  # hcl2 raises lark errors of many kinds
        line = getattr(exc, "line", None)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return HclError(filename, line if isinstance(line, int) else None, first_line)
    return dict(result)


def _parse_json(text: str, filename: str) -> dict[str, Any] | HclError:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return HclError(filename, exc.lineno, exc.msg)
    if not isinstance(value, dict):
        return HclError(filename, 1, "a .tf.json file must hold a JSON object")
    return _json_blocks_as_lists(value)


def _json_blocks_as_lists(value: dict[str, Any]) -> dict[str, Any]:
    """Shape .tf.json like parsed HCL: every top-level block is a list of bodies."""
    return {key: body if isinstance(body, list) else [body] for key, body in value.items()}
