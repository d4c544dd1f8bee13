"""The only importer of regopy: Rego policies in, plain decisions out, errors as data.

Each evaluation runs in a child Python process (`python -m orchestrator.policy.engine`) with a
time limit, so a policy that never ends or crashes the engine fails its run instead of a worker.
Every policy gets an interpreter of its own: Spacelift's policies all share `package spacelift`,
and rules of two policies must never merge.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
                value = sorted({v if isinstance(v, str) else json.dumps(v) for v in value})
        normal[name] = value
    return normal


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
    """Each (policy, input) pair, all in one child process bounded by `timeout` seconds."""
    if not items:
        return []
    request = [
        {"name": p.name, "body": p.body, "data": dict(p.data), "input": document}
        for p, document in items
    ]
    started = time.monotonic()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "orchestrator.policy.engine"],
            input=json.dumps(request, default=str).encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    except subprocess.TimeoutExpired:
        took = time.monotonic() - started
        reason = f"evaluation did not finish within {timeout:g}s"
        return [PolicyError(p.name, reason, None, took) for p, _ in items]
    if completed.returncode != 0:
        detail = completed.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        reason = f"the policy engine exited with {completed.returncode}: {detail[0][:300]}"
        return [PolicyError(p.name, reason) for p, _ in items]
    return [_outcome(answer) for answer in json.loads(completed.stdout)]


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


def _evaluate_one(policy: Mapping[str, Any], document: Any) -> dict[str, Any]:
    """In the child process: one interpreter, one module, one query of its package."""
    import regopy

    name, body = str(policy["name"]), str(policy["body"])
    started = time.monotonic()
    package = package_of(body)
    if package is None:
        return {"policy": name, "error": "the module declares no package", "line": 1, "seconds": 0}
    try:
        interpreter = regopy.Interpreter()
        interpreter.add_module(f"{name}.rego", body)
        if policy.get("data"):
            interpreter.add_data(policy["data"])
        interpreter.set_input(document)
        output = interpreter.query(f"data.{package}")
        if not output.ok():
            raise regopy.RegoError(str(output))
        results = output.results
        rules = results[0].expressions[0] if results and results[0].expressions else {}
    except regopy.RegoError as exc:
        error = error_from_engine(name, body, str(exc))
        took = time.monotonic() - started
        return {"policy": name, "error": error.message, "line": error.line, "seconds": took}
    if not isinstance(rules, dict):
        rules = {}
    took = time.monotonic() - started
    embedded = _embedded_error(rules)
    if embedded is not None:
        error = error_from_engine(name, body, embedded)
        message = f"evaluation error: {error.message}"
        return {"policy": name, "error": message, "line": error.line, "seconds": took}
    return {"policy": name, "rules": rules, "seconds": took}


def _embedded_error(value: Any) -> str | None:
    """A runtime error (1 / 0, a bad builtin call) comes back from the engine as an
    `(error …)` term inside the result: it must fail the policy, never count as a message."""
    if isinstance(value, str):
        return value if value.lstrip().startswith("(error") else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _embedded_error(key) if isinstance(key, str) else None
        found = found or _embedded_error(item)
        if found:
            return found
    return None


def _serve() -> None:
    """Read one request on stdin, write the answers on the real stdout. The engine may print
    its diagnostics: they go to stderr, never into the answer."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    request = json.loads(sys.stdin.buffer.read())
    answers = [_evaluate_one(item, item["input"]) for item in request]
    with os.fdopen(answer_fd, "w") as out:
        json.dump(answers, out)


if __name__ == "__main__":
    _serve()
