"""What approval policies judge, and where a review's verdict takes an UNCONFIRMED run."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.policy import approval
from orchestrator.policy.decide import Verdict
from orchestrator.runstate import RunState

NO_CHANGE = {"add": 0, "change": 0, "destroy": 0}
ONE_ADD = {"add": 1, "change": 0, "destroy": 0}
OUTPUT_ONLY: dict[str, Any] = {"output_changes": {"vpc_id": {"actions": ["create"]}}}


@pytest.mark.parametrize(
    ("kind", "plan", "summary", "judged"),
    [
        ("TRACKED", {}, ONE_ADD, True),
        ("DESTROY", {}, ONE_ADD, True),
        ("TRACKED", OUTPUT_ONLY, NO_CHANGE, True),
        ("TRACKED", {}, NO_CHANGE, False),
        ("PROPOSED", {}, ONE_ADD, False),
        ("DRIFT", {}, ONE_ADD, False),
    ],
)
def test_approval_policies_judge_only_a_run_that_could_apply_a_change(
    kind: str, plan: dict[str, Any], summary: dict[str, int], judged: bool
) -> None:
    assert approval.judges(kind, plan, summary) is judged


def test_a_waiting_verdict_leaves_the_run_unconfirmed() -> None:
    assert approval.review_outcome(Verdict("wait")) is None


@pytest.mark.parametrize(
    ("verdict", "outcome"),
    [
        (Verdict("approve", ("ok",)), (RunState.CONFIRMED, "approved: ok")),
        (
            Verdict("reject", ("p rejects", "q rejects")),
            (RunState.DISCARDED, "rejected: p rejects; q rejects"),
        ),
        (Verdict("reject"), (RunState.DISCARDED, "rejected: review")),
        (
            Verdict("error", ("policy p: boom",)),
            (RunState.DISCARDED, "approval policy failed, never applied: policy p: boom"),
        ),
    ],
)
def test_a_decided_verdict_confirms_or_discards_the_run_saying_why(
    verdict: Verdict, outcome: tuple[RunState, str]
) -> None:
    assert approval.review_outcome(verdict) == outcome
