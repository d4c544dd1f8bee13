"""The run state machine (orchestrator/runstate.py) against DESIGN §4, edge by edge."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.runstate import (
    TERMINAL,
    Allowed,
    Refused,
    RunKind,
    RunState,
    allowed_targets,
    decide,
    is_terminal,
)

S = RunState
K = RunKind

# Written independently from DESIGN §4, not derived from the module under test.
EXPECTED_EDGES: frozenset[tuple[RunState, RunState]] = frozenset(
    {
        (S.QUEUED, S.PREPARING),
        (S.QUEUED, S.DISCARDED),
        (S.QUEUED, S.SKIPPED),
        (S.QUEUED, S.CANCELED),
        (S.PREPARING, S.INITIALIZING),
        (S.PREPARING, S.FAILED),
        (S.PREPARING, S.STOPPED),
        (S.INITIALIZING, S.PLANNING),
        (S.INITIALIZING, S.FAILED),
        (S.INITIALIZING, S.STOPPED),
        (S.PLANNING, S.FINISHED),
        (S.PLANNING, S.FAILED),
        (S.PLANNING, S.UNCONFIRMED),
        (S.PLANNING, S.CONFIRMED),
        (S.PLANNING, S.STOPPED),
        (S.UNCONFIRMED, S.CONFIRMED),
        (S.UNCONFIRMED, S.DISCARDED),
        (S.CONFIRMED, S.APPLYING),
        (S.CONFIRMED, S.FAILED),
        (S.APPLYING, S.FINISHED),
        (S.APPLYING, S.FAILED),
    }
)
# Edges that lead towards an apply: only kinds that may apply take them.
APPLY_ONLY_EDGES = frozenset({(S.PLANNING, S.UNCONFIRMED), (S.PLANNING, S.CONFIRMED)})
APPLYING_KINDS = frozenset({K.TRACKED, K.DESTROY})
EXPECTED_TERMINAL = frozenset({S.FINISHED, S.FAILED, S.DISCARDED, S.CANCELED, S.SKIPPED, S.STOPPED})


def expected_allowed(source: RunState, target: RunState, kind: RunKind) -> bool:
    if (source, target) not in EXPECTED_EDGES:
        return False
    return (source, target) not in APPLY_ONLY_EDGES or kind in APPLYING_KINDS


ALL_CASES = list(itertools.product(RunState, RunState, RunKind))


@pytest.mark.parametrize(("source", "target", "kind"), ALL_CASES, ids=lambda v: str(v))
def test_decide_allows_exactly_the_design_edges(
    source: RunState, target: RunState, kind: RunKind
) -> None:
    decision = decide(source, target, kind)

    if expected_allowed(source, target, kind):
        assert decision == Allowed(source, target)
    else:
        assert isinstance(decision, Refused)
        assert decision.source == source
        assert decision.target == target
        assert isinstance(decision.reason, str)
        assert decision.reason.strip()


def test_the_case_table_covers_every_state_pair_for_every_kind() -> None:
    assert len(ALL_CASES) == len(RunState) ** 2 * len(RunKind) == 13 * 13 * 4


def test_terminal_states_are_exactly_the_design_set() -> None:
    assert frozenset(TERMINAL) == EXPECTED_TERMINAL
    for state in RunState:
        assert is_terminal(state) is (state in EXPECTED_TERMINAL)


@pytest.mark.parametrize("source", sorted(EXPECTED_TERMINAL))
def test_terminal_state_refuses_every_target_with_a_reason_mentioning_terminal(
    source: RunState,
) -> None:
    for target, kind in itertools.product(RunState, RunKind):
        decision = decide(source, target, kind)
        assert isinstance(decision, Refused), (source, target, kind)
        assert "terminal" in decision.reason


@pytest.mark.parametrize("source", [S.CONFIRMED, S.APPLYING])
@pytest.mark.parametrize("target", [S.STOPPED, S.DISCARDED])
@pytest.mark.parametrize("kind", list(RunKind))
def test_confirmed_or_applying_run_can_never_be_stopped_or_discarded(
    source: RunState, target: RunState, kind: RunKind
) -> None:
    decision = decide(source, target, kind)
    assert isinstance(decision, Refused)
    assert decision.reason


@pytest.mark.parametrize("kind", [K.PROPOSED, K.DRIFT])
@pytest.mark.parametrize("target", [S.UNCONFIRMED, S.CONFIRMED])
def test_plan_only_kinds_never_head_for_an_apply_and_the_reason_names_the_kind(
    kind: RunKind, target: RunState
) -> None:
    decision = decide(S.PLANNING, target, kind)
    assert isinstance(decision, Refused)
    assert str(kind) in decision.reason


@pytest.mark.parametrize("kind", [K.PROPOSED, K.DRIFT])
def test_plan_only_kinds_finish_straight_from_planning(kind: RunKind) -> None:
    assert decide(S.PLANNING, S.FINISHED, kind) == Allowed(S.PLANNING, S.FINISHED)


def test_refusals_are_returned_as_data_not_raised() -> None:
    # A nonsense move (backwards, to itself) must come back as a value.
    for state, kind in itertools.product(RunState, RunKind):
        decision = decide(state, state, kind)
        assert isinstance(decision, Refused)


@pytest.mark.parametrize(("source", "kind"), list(itertools.product(RunState, RunKind)))
def test_allowed_targets_agrees_with_the_design_table(source: RunState, kind: RunKind) -> None:
    expected = frozenset(t for t in RunState if expected_allowed(source, t, kind))
    assert allowed_targets(source, kind) == expected
