"""From policy outcomes to one decision: an erring policy never lets a run through."""

from __future__ import annotations

from orchestrator.policy import decide
from orchestrator.policy.engine import Evaluated, PolicyError
from orchestrator.policy.inputs import Review


def plan_policy(name: str) -> decide.Attached:
    return decide.Attached(name, 3, "plan")


def approval_policy(name: str) -> decide.Attached:
    return decide.Attached(name, 1, "approval")


def ok(name: str, **rules: object) -> Evaluated:
    return Evaluated(name, dict(rules), 0.01)


def test_any_deny_fails_the_plan_with_every_message_named_by_its_policy() -> None:
    verdict = decide.plan_verdict(
        [plan_policy("a"), plan_policy("b")],
        [ok("a", deny=["x", "y"], warn=["w"]), ok("b", deny=[])],
    )
    assert verdict.decision == "deny"
    assert verdict.messages == ("a: x", "a: y")
    assert [(r.policy, r.version, r.result) for r in verdict.results] == [
        ("a", 3, "deny"),
        ("b", 3, "allow"),
    ]


def test_a_warning_alone_asks_for_a_human() -> None:
    verdict = decide.plan_verdict([plan_policy("a")], [ok("a", warn=["big"])])
    assert (verdict.decision, verdict.messages) == ("warn", ("a: big",))


def test_a_plan_policy_that_errs_denies() -> None:
    verdict = decide.plan_verdict([plan_policy("a")], [PolicyError("a", "boom", 4)])
    assert verdict.decision == "deny"
    assert verdict.messages == ("policy a:4: boom",)
    assert verdict.results[0].result == "error"


def test_no_plan_policy_allows() -> None:
    assert decide.plan_verdict([], []).decision == "allow"


def test_without_approval_policies_one_approver_approves_and_a_viewer_does_not() -> None:
    approver = Review("ann", ("approver",), "approve", "t")
    viewer = Review("vic", ("viewer",), "approve", "t")
    assert decide.approval_verdict([], [], [approver]).decision == "approve"
    assert decide.approval_verdict([], [], [viewer]).decision == "wait"
    assert decide.approval_verdict([], [], []).decision == "wait"


def test_without_approval_policies_a_rejection_wins_over_an_approval() -> None:
    reviews = [
        Review("ann", ("approver",), "approve", "t"),
        Review("bob", ("admin",), "reject", "t"),
    ]
    assert decide.approval_verdict([], [], reviews).decision == "reject"


def test_every_approval_policy_must_approve_and_any_reject_wins() -> None:
    both = [approval_policy("a"), approval_policy("b")]
    assert decide.approval_verdict(both, [ok("a", approve=True), ok("b")], []).decision == "wait"
    assert (
        decide.approval_verdict(both, [ok("a", approve=True), ok("b", approve=True)], []).decision
        == "approve"
    )
    rejected = decide.approval_verdict(
        both, [ok("a", approve=True), ok("b", approve=True, reject=True)], []
    )
    assert rejected.decision == "reject"


def test_an_approval_policy_that_errs_is_an_error_never_an_approval() -> None:
    verdict = decide.approval_verdict(
        [approval_policy("a"), approval_policy("b")],
        [ok("a", approve=True), PolicyError("b", "timeout")],
        [],
    )
    assert verdict.decision == "error"


def test_trigger_policies_ignore_or_propose_and_an_error_makes_the_run_plan_only() -> None:
    trigger = [decide.Attached("t", 1, "trigger")]
    assert decide.trigger_verdict(trigger, [ok("t", ignore=True)]).decision == "ignore"
    assert decide.trigger_verdict(trigger, [ok("t", propose=True)]).decision == "propose"
    assert decide.trigger_verdict(trigger, [ok("t")]).decision == "run"
    assert decide.trigger_verdict(trigger, [PolicyError("t", "x")]).decision == "propose"
