"""The restart rule of `stackrun up`'s supervisor: backoff, the crash window, exit statuses."""

from __future__ import annotations

import pytest

from orchestrator.supervise.restarts import (
    GiveUp,
    Restart,
    RestartPolicy,
    after_crash,
    exit_status,
)

POLICY = RestartPolicy(first_delay=0.5, max_delay=4.0, window=60.0, max_crashes=5)


def test_a_first_crash_restarts_after_the_first_delay() -> None:
    assert after_crash(POLICY, [100.0], 100.0) == Restart(0.5, (100.0,))


def test_each_crash_in_the_window_doubles_the_delay_up_to_the_maximum() -> None:
    policy = RestartPolicy(first_delay=0.5, max_delay=4.0, window=60.0, max_crashes=10)
    crashes: list[float] = []
    delays = []
    for now in (10.0, 11.0, 12.0, 13.0, 14.0, 15.0):
        crashes.append(now)
        decision = after_crash(policy, crashes, now)
        assert isinstance(decision, Restart)
        delays.append(decision.delay)
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_the_fifth_crash_within_a_minute_gives_up() -> None:
    crashes = [0.0, 5.0, 10.0, 20.0]
    assert isinstance(after_crash(POLICY, crashes, 20.0), Restart)
    assert after_crash(POLICY, [*crashes, 59.0], 59.0) == GiveUp(5, 60.0)


def test_crashes_older_than_the_window_are_forgotten() -> None:
    """A child that ran a while restarts fast again, and five crashes spread over more than a
    minute never stop stackrun."""
    decision = after_crash(POLICY, [0.0, 5.0, 10.0, 20.0, 61.0], 61.0)
    assert decision == Restart(4.0, (5.0, 10.0, 20.0, 61.0))
    assert after_crash(POLICY, [0.0, 100.0], 100.0) == Restart(0.5, (100.0,))


def test_a_crash_exactly_one_window_ago_is_outside_it() -> None:
    assert after_crash(POLICY, [0.0, 10.0, 20.0, 30.0, 60.0], 60.0) == Restart(
        4.0, (10.0, 20.0, 30.0, 60.0)
    )


@pytest.mark.parametrize(
    ("returncode", "said"),
    [
        (0, "exit status 0"),
        (2, "exit status 2"),
        (-9, "killed by SIGKILL (signal 9)"),
        (-15, "killed by SIGTERM (signal 15)"),
        (-200, "killed by signal 200"),
    ],
)
def test_an_exit_is_described_as_a_person_reads_it(returncode: int, said: str) -> None:
    assert exit_status(returncode) == said
