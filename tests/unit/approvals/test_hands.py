"""The approval rule on its own (orchestrator/approvals/hands.py): nobody approves a run of a
commit they triggered, pushed or authored, whichever run of the commit shows it."""

from __future__ import annotations

import pytest

from orchestrator.approvals import hands
from orchestrator.auth import Principal

SHA = "3a1937f0c2b4" + "0" * 28


def _approver(name: str, login: str | None = None) -> Principal:
    return Principal(name=name, role="approver", vcs_login=login)


@pytest.mark.parametrize(
    ("triggered_by", "token"),
    [
        ("manual:carol", "carol"),
        ("retry:dave:ops", "dave:ops"),
        ("push:mallory", None),
        ("pull_request:mallory", None),
        ("drift", None),
        ("manual:", None),
    ],
)
def test_only_manual_and_retry_triggers_name_a_token(triggered_by: str, token: str | None) -> None:
    assert hands.token_of(triggered_by) == token


def test_a_pusher_is_refused_by_login_whatever_its_case() -> None:
    found = hands.from_run(3, "push:Mallory", "", {})
    reason = hands.refusal(_approver("m-token", "mALLORY"), SHA, 7, found)
    assert reason is not None
    assert reason.startswith("approving run 7 of commit 3a1937f0c2b4: mALLORY (the VCS login")
    assert "pushed it (run 3)" in reason
    assert hands.refusal(_approver("bob", "bob"), SHA, 7, found) is None


def test_the_rule_follows_the_commit_not_the_run() -> None:
    """A push made run 3 (discarded since); run 8 is a manual run of the same commit by carol:
    the pusher is still refused on run 8, and so is carol."""
    found = hands.from_run(3, "push:mallory", "", {}) + hands.from_run(
        8, "manual:carol", "", {"carol": None}
    )
    assert "pushed it (run 3)" in (hands.refusal(_approver("m", "mallory"), SHA, 8, found) or "")
    assert "token 'carol' triggered run 8 by hand" in (
        hands.refusal(_approver("carol"), SHA, 8, found) or ""
    )
    assert hands.refusal(_approver("bob", "bob"), SHA, 8, found) is None


def test_a_manual_run_counts_its_caller_as_the_pusher_for_every_token_of_that_login() -> None:
    found = hands.from_run(8, "manual:carol-cli", "", {"carol-cli": "carol"})
    other_token = hands.refusal(_approver("carol-web", "Carol"), SHA, 8, found)
    assert other_token is not None and "triggered run 8 by hand" in other_token


def test_a_retrier_counts_as_the_trigger_of_the_new_run() -> None:
    found = hands.from_run(9, "retry:dave", "", {})
    assert "retried a run as run 9" in (hands.refusal(_approver("dave"), SHA, 9, found) or "")


def test_a_token_name_never_matches_a_vcs_login_nor_the_reverse() -> None:
    pushed = hands.from_run(3, "push:dev1", "", {})
    assert hands.refusal(_approver("dev1"), SHA, 3, pushed) is None
    manual = hands.from_run(4, "manual:dev1", "", {"dev1": None})
    assert hands.refusal(_approver("someone", "dev1"), SHA, 4, manual) is None


def test_the_author_of_the_commit_is_refused() -> None:
    found = hands.from_run(3, "push:bot", "Dev1", {})
    reason = hands.refusal(_approver("d", "dev1"), SHA, 3, found)
    assert reason is not None and "authored it (run 3)" in reason


def test_a_delivery_names_its_pusher_and_authors_once_each() -> None:
    found = hands.from_delivery("d-1", "push", ["alice", "", "alice", "erin"])
    assert [h.login for h in found] == ["alice", "erin"]
    reason = hands.refusal(_approver("e", "erin"), SHA, 5, found)
    assert reason is not None and "pushed or wrote it (push delivery d-1)" in reason


def test_nobody_is_refused_when_nobody_is_known() -> None:
    assert hands.refusal(_approver("bob", "bob"), SHA, 1, []) is None
    assert hands.refusal(_approver("bob"), SHA, 1, hands.from_run(1, "drift", "", {})) is None
