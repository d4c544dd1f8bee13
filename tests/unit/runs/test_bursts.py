"""A burst of pushes: which events are processed, from which base, and for whom."""

from __future__ import annotations

from orchestrator.runs.bursts import Step, Waiting, steps

A, B, C, D, X = ("a" * 40, "b" * 40, "c" * 40, "d" * 40, "e" * 40)
MAIN = "refs/heads/main"


def _push(event_id: int, before: str, after: str, ref: str = MAIN) -> Waiting:
    return Waiting(event_id, "push", ref, before, after)


def test_a_chain_of_tracked_pushes_is_one_step_for_the_newest_head_diffed_from_the_oldest() -> None:
    burst = [_push(3, C, D), _push(1, A, B), _push(2, B, C)]
    assert steps(burst, "main") == [Step(3, since=A, stands_for=(1, 2))]


def test_one_push_alone_keeps_its_own_before() -> None:
    assert steps([_push(7, A, B)], "main") == [Step(7)]


def test_the_same_head_delivered_again_joins_the_chain() -> None:
    burst = [_push(1, B, B), _push(2, B, B), _push(3, A, B)]
    assert steps(burst, "main") == [Step(3, since=B, stands_for=(1, 2))]


def test_a_push_that_does_not_follow_on_starts_a_new_step() -> None:
    """A force push (its before is not the previous after) is diffed from its own before."""
    burst = [_push(1, A, B), _push(2, X, D), _push(3, D, C)]
    assert steps(burst, "main") == [Step(1), Step(3, since=X, stands_for=(2,))]


def test_anything_but_a_tracked_push_is_processed_on_its_own_and_in_order() -> None:
    review = Waiting(2, "pull_request", "refs/heads/feature", A, X)
    other_branch = _push(4, A, X, ref="refs/heads/feature")
    burst = [_push(1, A, B), review, _push(3, B, C), other_branch, _push(5, C, D)]
    assert steps(burst, "main") == [Step(1), Step(2), Step(3), Step(4), Step(5)]
