"""The only importer of regopy: Rego policies in, plain decisions out, errors as data.

Each evaluation runs in a child Python process (`python -m orchestrator.policy.engine`, started
and watched by policy/child.py) with a time limit, so a policy that never ends or crashes the
engine fails its run instead of a worker.
Every policy gets an interpreter of its own: Spacelift's policies all share `package spacelift`,
and rules of two policies must never merge.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.policy import child

SET_RULES = frozenset({"deny", "warn"})
DEFAULT_TIMEOUT_SECONDS = 10.0
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)\s*$", re.MULTILINE)
_COMMENT = re.compile(r"#[^\n]*")
_ERROR_MESSAGE = re.compile(r"\(errormsg \d+:(.*?)\)\s*(?:\n|\(errorast)", re.DOTALL)
_ERROR_PLACE = re.compile(r"\(error \d+:([^|\s]*)\|(\d+)\|(\d+)")


@dataclass(frozen=True)
class PolicySource:
    name: str
    body: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluated:
    """A policy's rules after normalisation: sets as sorted lists of strings, the rest as-is."""

    policy: str
    rules: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class PolicyError:
    """A policy that does not compile, errs, or runs out of time: where and why."""

    policy: str
    message: str
    line: int | None = None
    seconds: float = 0.0

    def __str__(self) -> str:
        where = f"{self.policy}:{self.line}" if self.line else self.policy
        return f"{where}: {self.message}"


Outcome = Evaluated | PolicyError


def package_of(body: str) -> str | None:
    """The package the module declares (`package spacelift` → "spacelift")."""
    found = _PACKAGE.search(_COMMENT.sub("", body))
    return found.group(1) if found else None


def normalise(rules: Mapping[str, Any]) -> dict[str, Any]:
    """regopy returns a v0 partial set (`deny[msg] { … }`) as {"msg": true} and a v1 set
    (`deny contains msg if { … }`) as a list; both become a sorted list of strings."""
    normal: dict[str, Any] = {}
    for name, value in rules.items():
        if name in SET_RULES:
            if isinstance(value, dict):
                value = list(value)
            if isinstance(value, list):
                value = sorted({v if isinstance(v, str) else canonical(v) for v in value})
        normal[name] = value
    return normal


def canonical(value: Any) -> str:
    """A non-string set member as text, the same whichever Rego syntax produced it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def error_from_engine(policy: str, body: str, text: str) -> PolicyError:
    """The engine's message and, when it names an offset in this module, its line."""
    found = _ERROR_MESSAGE.search(text)
    message = found.group(1).strip() if found else text.strip().splitlines()[0][:500]
    place = _ERROR_PLACE.search(text)
    line = None
    if place and place.group(1) in (policy, f"{policy}.rego"):
        line = body[: int(place.group(2))].count("\n") + 1
    return PolicyError(policy, message or "the engine gave no message", line)


def evaluate(
    policies: Sequence[PolicySource],
    document: Mapping[str, Any],
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> list[Outcome]:
    """Every policy against one input, in one child process bounded by `timeout` seconds."""
    return evaluate_many([(p, document) for p in policies], timeout)


def evaluate_many(
    items: Sequence[tuple[PolicySource, Mapping[str, Any]]],
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> list[Outcome]:
    """Each (policy, input) pair, all in one child process bounded by `timeout` seconds and
    child.MEMORY_LIMIT_BYTES. An input shared by several policies is sent once."""
    if not items:
        return []
    documents: list[Mapping[str, Any]] = []
    slots: dict[int, int] = {}
    request_items = []
    for policy, document in items:
        slot = slots.setdefault(id(document), len(documents))
        if slot == len(documents):
            documents.append(document)
        request_items.append(
            {"name": policy.name, "body": policy.body, "data": dict(policy.data), "input": slot}
        )
    request = json.dumps({"documents": documents, "items": request_items}, default=str)
    started = time.monotonic()
    ran = child.run(request.encode(), timeout)
    if isinstance(ran, str):
        return [PolicyError(p.name, ran, None, time.monotonic() - started) for p, _ in items]
    return [_outcome(answer) for answer in json.loads(ran)]


def _outcome(answer: Mapping[str, Any]) -> Outcome:
    if "error" in answer:
        return PolicyError(answer["policy"], answer["error"], answer.get("line"), answer["seconds"])
    return Evaluated(answer["policy"], normalise(answer["rules"]), answer["seconds"])


def check(name: str, body: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> PolicyError | None:
    """Compile a policy against an empty input: None when it is usable."""
    if package_of(body) is None:
        return PolicyError(name, "the module declares no package (e.g. `package spacelift`)", 1)
    outcome = evaluate([PolicySource(name, body)], {}, timeout)[0]
    return outcome if isinstance(outcome, PolicyError) else None


def _interpreter(document: Any, modules: Sequence[tuple[str, str]], data: Any = None) -> Any:
    import regopy

    interpreter = regopy.Interpreter()
    interpreter.strict_built_in_errors = True
    for name, body in modules:
        interpreter.add_module(f"{name}.rego", body)
    if data:
        interpreter.add_data(data)
    interpreter.set_input(document)
    return interpreter


def _query(interpreter: Any, name: str, body: str, started: float) -> dict[str, Any]:
    """Query one policy's package; the result is read from the engine's node tree (its JSON
    text leaves strings unescaped)."""
    import regopy
    from regopy.rego_shared import rego_output_node, rego_query

    try:
        tree = _Tree(rego_output_node(rego_query(interpreter._impl, f"data.{package_of(body)}")))
        failure = tree.error()
        rules = tree.first_expression() if failure is None else None
    except regopy.RegoError as exc:
        error = error_from_engine(name, body, str(exc))
        took = time.monotonic() - started
        return {"policy": name, "error": error.message, "line": error.line, "seconds": took}
    took = time.monotonic() - started
    if failure is not None:
        return {"policy": name, "error": f"evaluation error: {failure}", "seconds": took}
    return {"policy": name, "rules": rules if isinstance(rules, dict) else {}, "seconds": took}


def _evaluate_one(policy: Mapping[str, Any], document: Any) -> dict[str, Any]:
    """In the child process: one interpreter, one module, one query of its package."""
    import regopy

    name, body = str(policy["name"]), str(policy["body"])
    started = time.monotonic()
    if package_of(body) is None:
        return {"policy": name, "error": "the module declares no package", "line": 1, "seconds": 0}
    try:
        interpreter = _interpreter(document, [(name, body)], policy.get("data"))
    except regopy.RegoError as exc:
        error = error_from_engine(name, body, str(exc))
        took = time.monotonic() - started
        return {"policy": name, "error": error.message, "line": error.line, "seconds": took}
    return _query(interpreter, name, body, started)


def _evaluate_together(
    policies: Sequence[Mapping[str, Any]], document: Any
) -> list[dict[str, Any]]:
    """Policies of distinct packages share one interpreter, so a large input is converted once
    (a tenth of a second for a 500-resource plan). Any error: each is evaluated on its own, so
    one policy never changes another's result or takes the blame for it."""
    import regopy

    if len(policies) == 1:
        return [_evaluate_one(policies[0], document)]
    started = time.monotonic()
    modules = [(str(p["name"]), str(p["body"])) for p in policies]
    try:
        interpreter = _interpreter(document, modules)
    except regopy.RegoError:
        return [_evaluate_one(p, document) for p in policies]
    share = (time.monotonic() - started) / len(policies)
    answers = []
    for name, body in modules:
        answers.append(_query(interpreter, name, body, time.monotonic() - share))
    if any("error" in answer for answer in answers):
        return [_evaluate_one(p, document) for p in policies]
    return answers


def _groups(items: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Items that may share an interpreter: the same input, no data of their own, distinct
    names, and packages of which none holds another (`a` would read `a.b`'s rules)."""
    groups: list[list[int]] = []
    for index, item in enumerate(items):
        package = package_of(str(item["body"]))
        joined = package is not None and not item.get("data") and _join(groups, items, index)
        if not joined:
            groups.append([index])
    return groups


def _join(groups: list[list[int]], items: Sequence[Mapping[str, Any]], index: int) -> bool:
    item = items[index]
    package = package_of(str(item["body"])) or ""
    for group in groups:
        if all(_may_share(item, package, items[i]) for i in group):
            group.append(index)
            return True
    return False


def _may_share(item: Mapping[str, Any], package: str, member: Mapping[str, Any]) -> bool:
    other = package_of(str(member["body"]))
    return bool(
        other
        and not member.get("data")
        and member["input"] == item["input"]
        and member["name"] != item["name"]
        and not (other + ".").startswith(package + ".")
        and not (package + ".").startswith(other + ".")
    )


class _Tree:
    """Plain Python values from a rego-cpp output node (kinds and children through regopy's C
    API; regopy's own `Output` parses the engine's unescaped JSON text and breaks on quotes)."""

    def __init__(self, root: Any) -> None:
        from regopy import NodeKind
        from regopy.rego_shared import (
            rego_node_get,
            rego_node_size,
            rego_node_type,
            rego_node_value,
        )

        self.root, self.kinds = root, NodeKind
        self._get, self._size, self._type, self._value = (
            rego_node_get,
            rego_node_size,
            rego_node_type,
            rego_node_value,
        )

    def children(self, node: Any) -> list[Any]:
        return [self._get(node, i) for i in range(self._size(node))]

    def error(self) -> str | None:
        """The first error message anywhere in the output, if the evaluation failed."""
        pending = [self.root]
        while pending:
            node = pending.pop()
            if self._type(node) == self.kinds.ErrorMessage:
                return str(self._value(node))
            pending.extend(reversed(self.children(node)))
        return None

    def first_expression(self) -> Any:
        """Results → Result → Terms → the first term, as a Python value (None: undefined)."""
        node = self.root
        for kind in (self.kinds.Results, self.kinds.Result, self.kinds.Terms):
            if self._type(node) != kind or not self._size(node):
                return None
            node = self._get(node, 0)
        return self.value(node)

    def value(self, node: Any) -> Any:
        kind, k = self._type(node), self.kinds
        if kind in (k.Term, k.Scalar):
            return self.value(self._get(node, 0))
        if kind in (k.Int, k.Float):
            text = str(self._value(node))
            return int(text) if kind == k.Int else float(text)
        if kind == k.String:
            return _engine_text(str(self._value(node)))
        if kind in (k.Boolean, k.True_, k.False_):
            return str(self._value(node)) == "true"
        if kind in (k.Array, k.Set):
            return [self.value(child) for child in self.children(node)]
        if kind == k.Object:
            return dict(self._item(item) for item in self.children(node))
        return None

    def _item(self, item: Any) -> tuple[str, Any]:
        key_node, value_node = self.children(item)
        key = self.value(key_node)
        return (key if isinstance(key, str) else canonical(key)), self.value(value_node)


def _engine_text(text: str) -> str:
    """rego-cpp keeps a string computed by a builtin (concat, sprintf, upper…) and an object
    key as the text between added double quotes, escaped or not; a string from the input or a
    literal as it is. (An input string that itself starts and ends with a double quote comes
    back without them: the two cannot be told apart.)"""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        with contextlib.suppress(json.JSONDecodeError):
            decoded = json.loads(text)
            if isinstance(decoded, str):
                return decoded
        return text[1:-1]
    return text


def _serve() -> None:
    """Read one request on stdin, write the answers on the real stdout. The engine may print
    its diagnostics: they go to stderr, never into the answer."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    request = json.loads(sys.stdin.buffer.read())
    documents, items = request["documents"], request["items"]
    answers: list[dict[str, Any]] = [{} for _ in items]
    for group in _groups(items):
        members = [items[i] for i in group]
        for index, answer in zip(
            group, _evaluate_together(members, documents[members[0]["input"]]), strict=True
        ):
            answers[index] = answer
    with os.fdopen(answer_fd, "w") as out:
        json.dump(answers, out)


if __name__ == "__main__":
    _serve()
