"""orchestrator.policy.engine against regopy: v0 and v1 Rego, any package, errors as data.

Every `evaluate` call spawns one child process (~0.1 s): policies that can share an input share
a call."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from orchestrator.policy import child, engine
from orchestrator.policy.engine import Evaluated, PolicyError, PolicySource

DECISION_RULES = ("deny", "warn", "approve", "reject")


def evaluated(outcome: engine.Outcome) -> Evaluated:
    assert isinstance(outcome, Evaluated), f"expected rules, got {outcome!r}"
    return outcome


def failed(outcome: engine.Outcome) -> PolicyError:
    assert isinstance(outcome, PolicyError), f"expected an error, got {outcome!r}"
    return outcome


def decisions(outcome: engine.Outcome) -> dict[str, Any]:
    rules = evaluated(outcome).rules
    return {name: rules.get(name) for name in DECISION_RULES}


# --- v0 and v1 spellings -----------------------------------------------------------------

PLAN_V0 = """\
package spacelift

deny[msg] {
  rc := input.terraform.resource_changes[_]
  rc.change.actions[_] == "delete"
  msg := sprintf("%s: no deletes", [rc.address])
}

warn[msg] {
  rc := input.terraform.resource_changes[_]
  rc.change.actions[_] == "update"
  msg := sprintf("%s: changes in place", [rc.address])
}

warn[msg] {
  not input.stackrun.stack.autodeploy
  msg := "a human applies this stack"
}
"""

PLAN_V1 = """\
package spacelift

import rego.v1

deny contains msg if {
  some rc in input.terraform.resource_changes
  "delete" in rc.change.actions
  msg := sprintf("%s: no deletes", [rc.address])
}

warn contains msg if {
  some rc in input.terraform.resource_changes
  "update" in rc.change.actions
  msg := sprintf("%s: changes in place", [rc.address])
}

warn contains "a human applies this stack" if {
  not input.stackrun.stack.autodeploy
}
"""


def plan_document(autodeploy: bool, *changes: tuple[str, list[str]]) -> dict[str, Any]:
    return {
        "terraform": {
            "resource_changes": [
                {"address": address, "type": address.split(".")[0], "change": {"actions": acts}}
                for address, acts in changes
            ]
        },
        "stackrun": {"stack": {"labels": [], "autodeploy": autodeploy}},
    }


PLAN_CASES = {
    "nothing to say": (plan_document(True), {"deny": [], "warn": []}),
    "a delete and an update": (
        plan_document(True, ("null_resource.a", ["delete"]), ("null_resource.b", ["update"])),
        {"deny": ["null_resource.a: no deletes"], "warn": ["null_resource.b: changes in place"]},
    ),
    "a replace, messages sorted": (
        plan_document(
            False,
            ("null_resource.z", ["delete", "create"]),
            ("null_resource.a", ["create", "delete"]),
            ("null_resource.m", ["no-op"]),
        ),
        {
            "deny": ["null_resource.a: no deletes", "null_resource.z: no deletes"],
            "warn": ["a human applies this stack"],
        },
    ),
    "no input at all": ({}, {"deny": [], "warn": ["a human applies this stack"]}),
}


@pytest.mark.parametrize(("document", "expected"), PLAN_CASES.values(), ids=list(PLAN_CASES.keys()))
def test_plan_policy_in_v0_and_v1_gives_the_same_deny_and_warn_sets(
    document: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    v0, v1 = engine.evaluate([PolicySource("v0", PLAN_V0), PolicySource("v1", PLAN_V1)], document)
    assert decisions(v0) == decisions(v1)
    assert {k: evaluated(v0).rules[k] for k in expected} == expected


APPROVAL_V0 = """\
package spacelift

approvers[user] {
  user := input.reviews.approvals[_].user
}

approve {
  count(input.reviews.rejections) == 0
  count(approvers) >= 2
}

reject {
  count(input.reviews.rejections) > 0
}
"""

APPROVAL_V1 = """\
package spacelift

import rego.v1

approvers contains review.user if some review in input.reviews.approvals

approve if {
  count(input.reviews.rejections) == 0
  count(approvers) >= 2
}

reject if count(input.reviews.rejections) > 0
"""


def reviews(approvals: list[str], rejections: list[str]) -> dict[str, Any]:
    def listed(users: list[str]) -> list[dict[str, Any]]:
        return [{"user": u, "roles": ["approver"], "at": "2024-05-14T09:00:00Z"} for u in users]

    return {"reviews": {"approvals": listed(approvals), "rejections": listed(rejections)}}


APPROVAL_CASES = {
    "no reviews": (reviews([], []), (None, None)),
    "one approver twice": (reviews(["ana", "ana"], []), (None, None)),
    "two approvers": (reviews(["ana", "bo"], []), (True, None)),
    "a rejection": (reviews(["ana", "bo"], ["cy"]), (None, True)),
}


@pytest.mark.parametrize(
    ("document", "expected"), APPROVAL_CASES.values(), ids=list(APPROVAL_CASES.keys())
)
def test_approval_policy_in_v0_and_v1_gives_the_same_approve_and_reject(
    document: dict[str, Any], expected: tuple[bool | None, bool | None]
) -> None:
    v0, v1 = engine.evaluate(
        [PolicySource("v0", APPROVAL_V0), PolicySource("v1", APPROVAL_V1)], document
    )
    assert decisions(v0) == decisions(v1)
    assert (decisions(v0)["approve"], decisions(v0)["reject"]) == expected


# --- packages ----------------------------------------------------------------------------


def test_rules_are_read_from_whatever_package_the_module_declares() -> None:
    bodies = {
        "spacelift": 'package spacelift\n\nimport rego.v1\n\ndeny contains "from spacelift"\n',
        "dotted": 'package a.b.c\n\nimport rego.v1\n\ndeny contains "from a.b.c"\n',
        "commented": (
            "# package decoy\npackage stackrun.team_policy # the real one\n\n"
            'import rego.v1\n\ndeny contains "from stackrun.team_policy"\n'
        ),
    }
    outcomes = engine.evaluate([PolicySource(n, b) for n, b in bodies.items()], {})
    assert [evaluated(o).rules["deny"] for o in outcomes] == [
        ["from spacelift"],
        ["from a.b.c"],
        ["from stackrun.team_policy"],
    ]
    assert [o.policy for o in outcomes] == list(bodies)


def test_package_of_reads_the_declared_package_and_skips_comments() -> None:
    assert engine.package_of("package spacelift\n") == "spacelift"
    assert engine.package_of("# header\n\n  package a.b_c.d  \nx := 1\n") == "a.b_c.d"
    assert engine.package_of("# package commented.out\nx := 1\n") is None
    assert engine.package_of("") is None


def test_two_policies_in_the_same_package_do_not_merge_their_rules() -> None:
    first = 'package spacelift\n\nimport rego.v1\n\nlimit := 1\n\ndeny contains "first"\n'
    second = 'package spacelift\n\nimport rego.v1\n\nlimit := 2\n\ndeny contains "second"\n'
    a, b = engine.evaluate([PolicySource("a", first), PolicySource("b", second)], {})
    assert evaluated(a).rules == {"limit": 1, "deny": ["first"]}
    assert evaluated(b).rules == {"limit": 2, "deny": ["second"]}


# --- errors ------------------------------------------------------------------------------

UNCLOSED = """\
package spacelift

import rego.v1

deny contains msg if {
  msg := "never closed"

warn contains "w"
"""

BAD_ASSIGNMENT = """\
package spacelift

import rego.v1

warn contains "fine"

deny contains msg if {
  msg :=
}
"""


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [(UNCLOSED, "this is unclosed", 5), (BAD_ASSIGNMENT, "Invalid assignment operator", 8)],
    ids=["unclosed brace", "assignment without a value"],
)
def test_a_module_that_does_not_compile_is_an_error_with_the_engine_message_and_line(
    body: str, message: str, line: int
) -> None:
    error = engine.check("broken", body)
    assert error is not None
    assert (error.policy, error.message, error.line) == ("broken", message, line)
    assert str(error) == f"broken:{line}: {message}"


def test_a_module_without_a_package_is_refused() -> None:
    body = 'import rego.v1\n\ndeny contains "orphan"\n'
    error = engine.check("orphan", body)
    assert error is not None
    assert error.line == 1
    assert "no package" in error.message
    (outcome,) = engine.evaluate([PolicySource("orphan", body)], {})
    assert "no package" in failed(outcome).message


def test_a_policy_that_compiles_passes_the_check() -> None:
    assert engine.check("fine", PLAN_V1) is None


def test_a_runtime_error_never_becomes_a_deny_message() -> None:
    body = (
        "package spacelift\n\nimport rego.v1\n\n"
        'deny contains msg if {\n  msg := sprintf("%d", [1 / input.zero])\n}\n'
    )
    (outcome,) = engine.evaluate([PolicySource("divides", body)], {"zero": 0})
    if isinstance(outcome, Evaluated):
        assert outcome.rules.get("deny") in (None, [])
    else:
        assert "(error" not in outcome.message


RUNTIME_ERRORS = {
    "divide by zero": (
        "package spacelift\n\nimport rego.v1\n\ndeny contains msg if {\n  x := 1 / input.zero\n"
        '  msg := sprintf("%d", [x])\n}\n'
    ),
    "complete rule with two values": (
        "package spacelift\n\nimport rego.v1\n\nlimit := input.a if true\n\n"
        "limit := input.b if true\n"
    ),
    "bad base64 in a builtin": (
        "package spacelift\n\nimport rego.v1\n\ndecoded := base64.decode(input.text)\n"
    ),
}


@pytest.mark.parametrize("body", RUNTIME_ERRORS.values(), ids=list(RUNTIME_ERRORS.keys()))
def test_a_runtime_error_is_an_evaluation_error(body: str) -> None:
    (outcome,) = engine.evaluate(
        [PolicySource("runtime", body)], {"zero": 0, "a": 1, "b": 2, "text": "%%%"}
    )
    assert failed(outcome).message.startswith("evaluation error")


def test_a_policy_that_runs_too_long_is_stopped_at_the_timeout() -> None:
    # 400 million iterations into a one-element set: long, but little memory (a count over
    # numbers.range(1, 100000000) also times out, after taking over a GB in two seconds).
    body = (
        "package spacelift\n\nimport rego.v1\n\n"
        "pairs := count({1 | some x in numbers.range(1, 20000); some y in numbers.range(1, 20000)})"
        "\n"
    )
    started = time.monotonic()
    (outcome,) = engine.evaluate([PolicySource("forever", body)], {}, timeout=2)
    assert time.monotonic() - started < 6
    error = failed(outcome)
    assert error.message == "evaluation did not finish within 2s"
    assert error.seconds >= 2


def test_a_deny_message_with_a_double_quote_comes_back_intact() -> None:
    body = (
        "package spacelift\n\nimport rego.v1\n\n"
        "deny contains rc.address if some rc in input.terraform.resource_changes\n"
    )
    document = plan_document(True, ('aws_s3_bucket.logs["eu"]', ["delete"]))
    (outcome,) = engine.evaluate([PolicySource("quotes", body)], document)
    assert evaluated(outcome).rules["deny"] == ['aws_s3_bucket.logs["eu"]']


def test_one_broken_policy_does_not_fail_the_others_of_its_batch() -> None:
    broken = "package spacelift\n\nimport rego.v1\n\ndeny contains no_such_function(1)\n"
    fine = 'package spacelift\n\nimport rego.v1\n\ndeny contains "fine"\n'
    bad, good = engine.evaluate([PolicySource("bad", broken), PolicySource("good", fine)], {})
    assert "no_such_function" in failed(bad).message
    assert evaluated(good).rules["deny"] == ["fine"]


def test_no_policies_need_no_evaluation() -> None:
    assert engine.evaluate([], {"anything": 1}) == []


# --- normalise ---------------------------------------------------------------------------


def test_normalise_turns_a_v0_partial_set_into_a_sorted_list() -> None:
    assert engine.normalise({"deny": {"b": True, "a": True}}) == {"deny": ["a", "b"]}


def test_normalise_sorts_and_deduplicates_a_v1_set() -> None:
    assert engine.normalise({"warn": ["b", "a", "b"]}) == {"warn": ["a", "b"]}


def test_normalise_writes_non_string_members_as_json() -> None:
    assert engine.normalise({"deny": [{"x": 1, "a": [1]}, 2, "s"]}) == {
        "deny": ["2", "s", '{"a":[1],"x":1}']
    }


def test_normalise_keeps_an_empty_set_empty() -> None:
    assert engine.normalise({"deny": {}, "warn": []}) == {"deny": [], "warn": []}


def test_normalise_leaves_other_rules_as_they_are() -> None:
    rules = {"approve": True, "reject": False, "approvers": ["b", "a"], "limits": {"x": 1}}
    assert engine.normalise(rules) == rules


def test_a_policy_cannot_read_the_environment_of_the_process_that_evaluates_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STACKRUN_TEST_SECRET", "hunter2-not-for-policies")
    body = "package spacelift\n\nimport rego.v1\n\nenv := opa.runtime().env\n"
    (outcome,) = engine.evaluate([PolicySource("peek", body)], {})
    seen = json.dumps(outcome.rules if isinstance(outcome, engine.Evaluated) else str(outcome))
    assert "hunter2" not in seen
    assert "STACKRUN_TEST_SECRET" not in seen


def test_a_policy_that_takes_too_much_memory_is_stopped_with_a_clear_error() -> None:
    body = (
        "package spacelift\n\nimport rego.v1\n\n"
        "n := count([x | some x in numbers.range(1, 100000000)])\n"
    )
    (outcome,) = engine.evaluate([PolicySource("hungry", body)], {}, timeout=60)
    error = failed(outcome)
    assert (
        error.message
        == f"evaluation used more than {child.MEMORY_LIMIT_BYTES // 1024**2} MiB of memory"
    )


def test_a_package_and_its_subpackage_evaluated_together_keep_their_own_rules() -> None:
    outer = 'package acme\n\nimport rego.v1\n\ndeny contains "outer" if true\n'
    inner = 'package acme.inner\n\nimport rego.v1\n\ndeny contains "inner" if true\n'
    first, second = engine.evaluate(
        [PolicySource("outer", outer), PolicySource("inner", inner)], {}
    )
    assert isinstance(first, Evaluated) and isinstance(second, Evaluated)
    assert first.rules["deny"] == ["outer"]
    assert second.rules == {"deny": ["inner"]}


def test_an_input_larger_than_a_pipe_buffer_is_evaluated() -> None:
    changes = [{"address": f"null_resource.r[{i}]", "pad": "x" * 200} for i in range(10_000)]
    body = (
        "package spacelift\n\nimport rego.v1\n\n"
        'warn contains sprintf("%d changes", [count(input.terraform.resource_changes)]) if true\n'
    )
    (outcome,) = engine.evaluate(
        [PolicySource("big", body)], {"terraform": {"resource_changes": changes}}, timeout=60
    )
    assert isinstance(outcome, Evaluated), outcome
    assert outcome.rules["warn"] == ["10000 changes"]
