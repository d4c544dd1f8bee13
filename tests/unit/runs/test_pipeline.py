"""Pipeline advance (orchestrator/runs/pipeline.py): DESIGN §4 "A pipeline groups the runs"."""

from __future__ import annotations

import pytest

from orchestrator.runs.pipeline import Advance, advance, is_eligible
from orchestrator.runstate import RunState

S = RunState
BLOCKING = [S.FAILED, S.DISCARDED, S.STOPPED, S.SKIPPED, S.CANCELED]
IN_FLIGHT = [S.QUEUED, S.PREPARING, S.INITIALIZING, S.PLANNING, S.UNCONFIRMED, S.CONFIRMED]
IN_FLIGHT += [S.APPLYING]


def test_run_without_upstreams_is_eligible() -> None:
    assert advance({1: S.QUEUED}, {}) == Advance(eligible=(1,), skipped=())


def test_independent_queued_runs_are_all_eligible_in_id_order() -> None:
    result = advance({3: S.QUEUED, 1: S.QUEUED, 2: S.QUEUED}, {1: [], 2: []})
    assert result.eligible == (1, 2, 3)
    assert result.skipped == ()


def test_run_is_eligible_when_all_upstreams_finished() -> None:
    states = {1: S.FINISHED, 2: S.FINISHED, 3: S.QUEUED}
    assert advance(states, {3: [1, 2]}) == Advance(eligible=(3,), skipped=())


@pytest.mark.parametrize("upstream_state", BLOCKING)
def test_run_is_skipped_naming_the_upstream_that_ended_badly(upstream_state: RunState) -> None:
    states = {7: upstream_state, 8: S.QUEUED}
    result = advance(states, {8: [7]})
    assert result.eligible == ()
    assert len(result.skipped) == 1
    run_id, reason = result.skipped[0]
    assert run_id == 8
    assert "7" in reason
    assert str(upstream_state) in reason


def test_one_bad_upstream_skips_even_when_the_others_finished() -> None:
    states = {1: S.FINISHED, 2: S.FAILED, 3: S.QUEUED}
    result = advance(states, {3: [1, 2]})
    assert result.eligible == ()
    assert [run_id for run_id, _ in result.skipped] == [3]
    assert "run 2" in result.skipped[0][1]


@pytest.mark.parametrize("upstream_state", IN_FLIGHT)
def test_run_waits_while_an_upstream_is_still_running(upstream_state: RunState) -> None:
    states = {1: upstream_state, 2: S.QUEUED}
    result = advance(states, {2: [1]})
    assert 2 not in result.eligible
    assert all(run_id != 2 for run_id, _ in result.skipped)


def test_run_waits_when_one_upstream_finished_and_another_is_running() -> None:
    states = {1: S.FINISHED, 2: S.PLANNING, 3: S.QUEUED}
    assert advance(states, {3: [1, 2]}) == Advance(eligible=(), skipped=())


@pytest.mark.parametrize("state", [s for s in RunState if s != S.QUEUED])
def test_runs_that_are_not_queued_are_ignored(state: RunState) -> None:
    # Even with a failed upstream, a run that already left QUEUED is not touched.
    assert advance({1: S.FAILED, 2: state}, {2: [1]}) == Advance(eligible=(), skipped=())


def test_chain_advances_one_level_at_a_time() -> None:
    # network -> eks -> argocd: only the head may start.
    upstreams = {2: [1], 3: [2]}
    assert advance({1: S.QUEUED, 2: S.QUEUED, 3: S.QUEUED}, upstreams).eligible == (1,)
    assert advance({1: S.FINISHED, 2: S.QUEUED, 3: S.QUEUED}, upstreams).eligible == (2,)


def test_skip_cascades_one_level_per_advance() -> None:
    upstreams = {2: [1], 3: [2]}
    first = advance({1: S.FAILED, 2: S.QUEUED, 3: S.QUEUED}, upstreams)
    assert [r for r, _ in first.skipped] == [2]
    second = advance({1: S.FAILED, 2: S.SKIPPED, 3: S.QUEUED}, upstreams)
    assert [r for r, _ in second.skipped] == [3]
    assert "run 2" in second.skipped[0][1]


def test_diamond_mixes_eligible_and_skipped_runs() -> None:
    # 1 -> {2, 3}; 2 -> 4; 3 -> 5
    states = {1: S.FINISHED, 2: S.FINISHED, 3: S.FAILED, 4: S.QUEUED, 5: S.QUEUED}
    result = advance(states, {2: [1], 3: [1], 4: [2], 5: [3]})
    assert result.eligible == (4,)
    assert [r for r, _ in result.skipped] == [5]


def test_is_eligible_requires_every_upstream_finished() -> None:
    states = {1: S.FINISHED, 2: S.APPLYING}
    assert is_eligible(states, [])
    assert is_eligible(states, [1])
    assert not is_eligible(states, [1, 2])
