"""The static evaluator stays bounded on hostile input: each var and local is evaluated once per
scope, loops and deep chains (across module calls too) end Unresolved, values stay short."""

from __future__ import annotations

import pytest

from orchestrator.graph.evaluate import _MAX_TEXT, Argument, Scope, Unresolved


def test_a_reference_fan_out_evaluates_each_local_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """l0 = l1 + l1, l1 = l2 + l2, …: 2**40 references written out, 41 locals to evaluate."""
    levels = 40
    values = {f"l{n}": f"${{local.l{n + 1}}}-${{local.l{n + 1}}}" for n in range(levels)}
    values[f"l{levels}"] = "x"
    scope = Scope("s", "s/main.tf", local_values=values)
    calls: list[str] = []
    real_local = Scope.local

    def counted(self: Scope, name: str, *depth: int) -> object:
        calls.append(name)
        return real_local(self, name, *depth)

    monkeypatch.setattr(Scope, "local", counted)
    result = scope.evaluate("${local.l0}")
    assert len(calls) == levels + 1
    assert isinstance(result, Unresolved)
    assert result.reason == f"the value is longer than {_MAX_TEXT} characters"


def test_a_reference_loop_is_unresolved_with_the_reason() -> None:
    scope = Scope("s", "s/main.tf", local_values={"a": "${local.b}", "b": "x-${local.a}"})
    assert scope.evaluate("${local.a}") == Unresolved("local.a refers to itself (a reference loop)")


def test_a_chain_of_module_arguments_ends_without_recursion_error() -> None:
    """Each module passes its variable on to the next: the depth is counted across scopes."""
    scope = Scope("m0", "m0/main.tf", variable_values={"v": "deep"})
    for n in range(1, 400):
        scope = Scope(f"m{n}", f"m{n}/main.tf", arguments={"v": Argument("${var.v}", scope)})
    result = scope.evaluate("${var.v}")
    assert result == Unresolved("references nest too deeply (a reference loop?)")


def test_values_are_still_evaluated_as_before() -> None:
    scope = Scope(
        "stacks/app",
        "stacks/app/main.tf",
        variable_values={"env": "prod"},
        local_values={"key": "${var.env}/app", "n": 3},
    )
    assert scope.evaluate("${local.key}/${path.module}") == "prod/app///stacks/app"
    assert scope.evaluate("${local.n}") == 3
    missing = scope.evaluate("${var.missing}")
    assert missing == Unresolved("var.missing is not declared in stacks/app")
