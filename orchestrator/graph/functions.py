"""The Terraform functions static evaluation knows, as far as their arguments are known: an
unknown argument makes the result unknown, or partly unknown where the known parts still say
something (`format("%s/vpc.tfstate", var.stack)` is `*/vpc.tfstate`). Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.graph.values import Partial, Unresolved, as_text, concatenate

Function = Callable[[list[Any]], Any]


def unknown_among(values: Sequence[Any]) -> Unresolved | None:
    """The first argument not known in full, as Unresolved with its reason."""
    for value in values:
        if isinstance(value, Unresolved | Partial):
            return value if isinstance(value, Unresolved) else Unresolved(value.reason, True)
        if isinstance(value, list):
            inner = unknown_among(value)
            if inner is not None:
                return inner
    return None


def _known(function: Callable[..., Any]) -> Function:
    """A function evaluated only when every argument is known."""

    def call(arguments: list[Any]) -> Any:
        return unknown_among(arguments) or function(*arguments)

    return call


def _on_text(transform: Callable[[str], str]) -> Function:
    """lower/upper: applied to the known parts of a partly known string too."""

    def call(arguments: list[Any]) -> Any:
        (value,) = arguments
        if isinstance(value, Partial):
            parts = tuple(None if p is None else transform(p) for p in value.parts)
            return Partial(parts, value.reason)
        if isinstance(value, Unresolved):
            return value
        return transform(as_text(value))

    return call


def _coalesce(arguments: list[Any]) -> Any:
    """The first argument that is neither null nor "": unknown when an unknown one comes first.
    When every one is empty here Terraform would fail, so a working deployment sets one of
    them when Terraform runs: the result is a deploy-time value."""
    for value in arguments:
        if isinstance(value, Unresolved | Partial):
            return value
        if value is not None and value != "":
            return value
    return Unresolved("every argument of coalesce() is empty here: one is set at deploy time", True)


def _format(arguments: list[Any]) -> Any:
    spec, *values = arguments
    if not isinstance(spec, str):
        return unknown_among([spec]) or Unresolved("format() needs a string")
    pieces: list[Any] = []
    remaining = iter(values)
    for literal, verb in re.findall(r"([^%]*)(%%|%[-+# 0-9.]*[a-zA-Z]|$)", spec):
        pieces.append(literal)
        if verb == "%%":
            pieces.append("%")
        elif verb:
            value = next(remaining)
            numeric = verb[-1] not in "sv" and _is_number(value)
            pieces.append(_number(verb, value) if numeric else value)
    return concatenate(pieces)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(verb: str, value: Any) -> str:
    return ("%" + verb[1:-1] + "d") % int(value) if verb[-1] == "d" else (verb % value)


def _join(arguments: list[Any]) -> Any:
    separator, *lists = arguments
    items: list[Any] = []
    for value in lists:
        if not isinstance(value, list):
            return unknown_among([value]) or Unresolved("join() needs lists")
        items.extend(value)
    if isinstance(separator, Unresolved | Partial):
        return separator if len(items) > 1 else concatenate(items)
    pieces: list[Any] = []
    for index, item in enumerate(items):
        pieces.extend([separator, item] if index else [item])
    return concatenate(pieces)


def _lookup(table: dict[str, Any], key: Any, *default: Any) -> Any:
    if str(key) in table:
        return table[str(key)]
    if default:
        return default[0]
    return Unresolved(f"lookup(): the map has no key {key!r} and no default")


def _element(items: list[Any], index: Any) -> Any:
    return items[int(index) % len(items)]


def _replace(text: Any, old: Any, new: Any) -> str:
    """replace(): a plain substring, or a regular expression written `/…/`."""
    subject, search, replacement = as_text(text), as_text(old), as_text(new)
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        groups = re.sub(r"\$\{?(\d+)\}?", r"\\\1", replacement)
        return re.sub(search[1:-1], groups, subject)
    return subject.replace(search, replacement)


def _trimsuffix(text: Any, suffix: Any) -> str:
    return as_text(text).removesuffix(as_text(suffix))


def _map(*pairs: Any) -> dict[str, Any]:
    return {as_text(pairs[i]): pairs[i + 1] for i in range(0, len(pairs) - 1, 2)}


FUNCTIONS: dict[str, Function] = {
    "coalesce": _coalesce,
    "format": _format,
    "join": _join,
    "lookup": _known(_lookup),
    "element": _known(_element),
    "replace": _known(_replace),
    "lower": _on_text(str.lower),
    "upper": _on_text(str.upper),
    "trimsuffix": _known(_trimsuffix),
    "trimprefix": _known(lambda text, prefix: as_text(text).removeprefix(as_text(prefix))),
    "list": lambda arguments: list(arguments),
    "map": _known(_map),
    "tostring": _known(as_text),
}
