"""Terraform expressions and string templates, evaluated as far as the arguments are known:
0.11 (`"${…}"` everywhere, `list()`, `map()`) and 0.12+ forms alike. A value is a literal,
`Unresolved` or `Partial` (values.py). Evaluation never raises. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from orchestrator.graph.functions import FUNCTIONS, unknown_among
from orchestrator.graph.values import Partial, Unresolved, concatenate, shorten

Resolver = Callable[[str, str], Any]
"""Looks up ("var" | "local" | "path" | "terraform", name) → value."""

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>!?:()\[\]{},.=])|(?P<quote>\"))"
)
_KNOWN_ROOTS = ("var", "local", "path", "terraform")
_SIMPLE_REFERENCE = re.compile(r"(var|local|path|terraform)\.([A-Za-z_][A-Za-z0-9_-]*)")


class _Failed(Exception):
    """The text is not an expression this evaluator reads."""


class _UnknownFunction(_Failed):
    """A function static evaluation does not know."""


def template(text: str, resolve: Resolver) -> Any:
    """A string template: literal text and `${…}` interpolations. A template that is one
    interpolation alone is that expression's value, whatever its type."""
    try:
        pieces = _template_pieces(text)
    except _Failed:
        return Unresolved(f"{shorten(text)} cannot be evaluated statically")
    if len(pieces) == 1 and isinstance(pieces[0], tuple):
        return expression(pieces[0][0], resolve)
    return concatenate([p if isinstance(p, str) else expression(p[0], resolve) for p in pieces])


def expression(source: str, resolve: Resolver) -> Any:
    """The value of one expression (the inside of a `${…}`). A plain reference is looked up
    without the parser: chains of them across module calls stay shallow."""
    simple = _SIMPLE_REFERENCE.fullmatch(source)
    if simple:
        return resolve(simple.group(1), simple.group(2))
    try:
        parser = _Parser(source, resolve)
        value = parser.expression()
        parser.end()
    except _UnknownFunction as unknown:
        why = f"stackrun does not evaluate {unknown.args[0]}()"
        return Unresolved(f"${{{shorten(source)}}} cannot be evaluated statically: {why}")
    except (_Failed, RecursionError, ValueError, TypeError, IndexError, KeyError):
        return Unresolved(f"${{{shorten(source)}}} cannot be evaluated statically")
    return value


def _template_pieces(text: str) -> list[str | tuple[str]]:
    """Literal strings and (expression,) for each `${…}`."""
    if "%{" in text:
        raise _Failed
    pieces: list[str | tuple[str]] = []
    literal = ""
    i = 0
    while (start := text.find("${", i)) >= 0:
        if start > 0 and text[start - 1] == "$":
            literal += text[i : start - 1] + "${"
            i = start + 2
            continue
        end = _closing_brace(text, start + 2)
        literal += text[i:start]
        if literal:
            pieces.append(literal)
            literal = ""
        pieces.append((text[start + 2 : end].strip().strip("~").strip(),))
        i = end + 1
    literal += text[i:]
    if literal or not pieces:
        pieces.append(literal)
    return pieces


def _closing_brace(text: str, i: int) -> int:
    depth = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _string_end(text, i + 1)
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise _Failed


def _string_end(text: str, i: int) -> int:
    """The index of the quote closing the string whose body starts at `i`."""
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text.startswith("${", i):
            i = _closing_brace(text, i + 2) + 1
        elif text[i] == '"':
            return i
        else:
            i += 1
    raise _Failed


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)


class _Parser:
    """Recursive descent over one expression, evaluating as it reads."""

    def __init__(self, source: str, resolve: Resolver) -> None:
        self.source = source
        self.resolve = resolve
        self.at = 0

    def end(self) -> None:
        if self.source[self.at :].strip():
            raise _Failed

    def _peek(self) -> tuple[str, str] | None:
        match = _TOKEN.match(self.source, self.at)
        if match is None or match.lastgroup is None:
            return None
        return match.lastgroup, match.group(match.lastgroup)

    def _take(self) -> tuple[str, str]:
        match = _TOKEN.match(self.source, self.at)
        if match is None or match.lastgroup is None:
            raise _Failed
        self.at = match.end()
        return match.lastgroup, match.group(match.lastgroup)

    def _accept(self, op: str) -> bool:
        if self._peek() == ("op", op):
            self._take()
            return True
        return False

    def _expect(self, op: str) -> None:
        if not self._accept(op):
            raise _Failed

    def expression(self) -> Any:
        condition = self._binary(0)
        if not self._accept("?"):
            return condition
        if_true = self.expression()
        self._expect(":")
        if_false = self.expression()
        if isinstance(condition, bool):
            return if_true if condition else if_false
        if if_true == if_false:
            return if_true
        return _unknown(condition, "the condition")

    _LEVELS: tuple[tuple[str, ...], ...] = (("||",), ("&&",), ("==", "!="), ("+", "-"))

    def _binary(self, level: int) -> Any:
        if level == len(self._LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while (token := self._peek()) and token[0] == "op" and token[1] in self._LEVELS[level]:
            self._take()
            left = _operate(token[1], left, self._binary(level + 1))
        return left

    def _unary(self) -> Any:
        if self._accept("!"):
            value = self._unary()
            return (not value) if isinstance(value, bool) else _unknown(value, "the operand")
        return self._postfix(self._primary())

    def _postfix(self, value: Any) -> Any:
        while True:
            if self._accept("."):
                kind, name = self._take()
                if kind not in ("name", "number"):
                    raise _Failed
                value = _index(value, name)
            elif self._accept("["):
                key = self.expression()
                self._expect("]")
                value = _index(value, key)
            else:
                return value

    def _primary(self) -> Any:
        kind, text = self._take()
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "quote":
            return self._string()
        if kind == "op":
            return self._bracketed(text)
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self._accept("("):
            return self._call(text)
        return self._reference(text)

    def _string(self) -> Any:
        end = _string_end(self.source, self.at)
        body = self.source[self.at : end]
        self.at = end + 1
        if "${" not in body:
            return _unescape(body)
        return template(_unescape(body), self.resolve)

    def _bracketed(self, op: str) -> Any:
        if op == "(":
            value = self.expression()
            self._expect(")")
            return value
        if op == "[":
            return self._sequence("]")
        if op == "{":
            return self._object()
        raise _Failed

    def _sequence(self, closing: str) -> list[Any]:
        items: list[Any] = []
        while not self._accept(closing):
            items.append(self.expression())
            if not self._accept(","):
                self._expect(closing)
                break
        return items

    def _object(self) -> dict[str, Any] | Unresolved:
        entries: dict[str, Any] = {}
        while not self._accept("}"):
            key = self.expression()
            if not (self._accept("=") or self._accept(":")):
                raise _Failed
            entries[str(key)] = self.expression()
            self._accept(",")
        return entries

    def _call(self, name: str) -> Any:
        function = FUNCTIONS.get(name)
        if function is None:
            raise _UnknownFunction(name)
        return function(self._sequence(")"))

    def _reference(self, root: str) -> Any:
        if root in _KNOWN_ROOTS and self._accept("."):
            kind, name = self._take()
            if kind != "name":
                raise _Failed
            return self.resolve(root, name)
        chain = [root]
        while self._peek() == ("op", ".") or self._peek() == ("op", "["):
            if self._accept("."):
                chain.append(self._take()[1])
            else:
                self._take()
                self.expression()
                self._expect("]")
                chain.append("[…]")
        return Unresolved(f"{'.'.join(chain)} is known only when Terraform runs", True)


def _unknown(value: Any, what: str) -> Unresolved:
    found = unknown_among([value])
    return found or Unresolved(f"{what} is not a boolean")


def _operate(op: str, left: Any, right: Any) -> Any:
    unknown = unknown_among([left, right])
    if unknown is not None:
        return unknown
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("&&", "||"):
        if not isinstance(left, bool) or not isinstance(right, bool):
            raise _Failed
        return (left and right) if op == "&&" else (left or right)
    if isinstance(left, bool) or isinstance(right, bool):
        raise _Failed
    return float(left) + float(right) if op == "+" else float(left) - float(right)


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Unresolved | Partial):
        return value if isinstance(value, Unresolved) else Unresolved(value.reason, True)
    unknown = unknown_among([key])
    if unknown is not None:
        return unknown
    if isinstance(value, list):
        return value[int(key)]
    if isinstance(value, dict):
        return value[str(key)]
    raise _Failed
