"""The run state machine of DESIGN §4: pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RunState(StrEnum):
    QUEUED = "QUEUED"
    PREPARING = "PREPARING"
    INITIALIZING = "INITIALIZING"
    PLANNING = "PLANNING"
    UNCONFIRMED = "UNCONFIRMED"
    CONFIRMED = "CONFIRMED"
    APPLYING = "APPLYING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    DISCARDED = "DISCARDED"
    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"
    STOPPED = "STOPPED"


class RunKind(StrEnum):
    TRACKED = "TRACKED"
    PROPOSED = "PROPOSED"
    DRIFT = "DRIFT"
    DESTROY = "DESTROY"


S = RunState

TERMINAL: frozenset[RunState] = frozenset(
    {S.FINISHED, S.FAILED, S.DISCARDED, S.CANCELED, S.SKIPPED, S.STOPPED}
)

APPLYING_KINDS: frozenset[RunKind] = frozenset({RunKind.TRACKED, RunKind.DESTROY})
"""The kinds that change infrastructure: they take the stack lock and start oldest first."""

PLANNING_PHASE: frozenset[RunState] = frozenset({S.PREPARING, S.INITIALIZING, S.PLANNING})
"""A worker holds the run under a lease and nothing has changed yet: it may be stopped."""

STATE_MOVING: frozenset[RunState] = frozenset({S.CONFIRMED, S.APPLYING})
"""The stack's state is about to change or changing: drift checks of it are skipped."""

AWAITING_WORKER: frozenset[RunState] = frozenset({S.QUEUED, S.CONFIRMED})
"""A doorbell was rung for the run; the reaper rings again when nobody answered."""

SUPERSEDABLE: frozenset[RunState] = frozenset({S.QUEUED, S.UNCONFIRMED})
"""Not started, or planned and waiting for a human: a newer commit discards it."""

ENDABLE_PROPOSAL: frozenset[RunState] = frozenset({S.QUEUED}) | PLANNING_PHASE
"""What a closed or superseded proposal ends: DISCARDED when queued, else STOPPED."""

RETRYABLE: frozenset[RunState] = frozenset({S.FAILED, S.STOPPED, S.CANCELED, S.SKIPPED})

BLOCKING: frozenset[RunState] = TERMINAL - {S.FINISHED}
"""Ends that stop a pipeline's downstream runs (they are SKIPPED)."""

ENDED_EARLY: frozenset[RunState] = BLOCKING - {S.FAILED}
"""Ended by a person, a newer commit or an upstream, before a plan could finish."""

PLANNED: frozenset[RunState] = frozenset({S.FINISHED, S.FAILED})
"""The ends of a proposed run that report a plan back to the VCS."""

_EDGES: dict[RunState, frozenset[RunState]] = {
    S.QUEUED: frozenset({S.PREPARING, S.DISCARDED, S.SKIPPED, S.CANCELED}),
    S.PREPARING: frozenset({S.INITIALIZING, S.FAILED, S.STOPPED}),
    S.INITIALIZING: frozenset({S.PLANNING, S.FAILED, S.STOPPED}),
    S.PLANNING: frozenset({S.FINISHED, S.FAILED, S.UNCONFIRMED, S.CONFIRMED, S.STOPPED}),
    S.UNCONFIRMED: frozenset({S.CONFIRMED, S.DISCARDED}),
    S.CONFIRMED: frozenset({S.APPLYING, S.FAILED}),
    S.APPLYING: frozenset({S.FINISHED, S.FAILED}),
}

_APPLY_PATH: frozenset[tuple[RunState, RunState]] = frozenset(
    {(S.PLANNING, S.UNCONFIRMED), (S.PLANNING, S.CONFIRMED)}
)


@dataclass(frozen=True)
class Allowed:
    source: RunState
    target: RunState


@dataclass(frozen=True)
class Refused:
    """A transition the state machine does not allow, with the reason as data."""

    source: RunState
    target: RunState
    reason: str


Decision = Allowed | Refused


def is_terminal(state: RunState) -> bool:
    return state in TERMINAL


def decide(source: RunState, target: RunState, kind: RunKind) -> Decision:
    """Whether a run of `kind` may move from `source` to `target`."""
    if source in TERMINAL:
        return Refused(source, target, f"run is {source}, a terminal state; it never changes")
    if target not in _EDGES.get(source, frozenset()):
        return Refused(source, target, f"cannot go from {source} to {target}")
    if (source, target) in _APPLY_PATH and kind not in APPLYING_KINDS:
        return Refused(source, target, f"a {kind} run never applies, so it cannot be {target}")
    return Allowed(source, target)


def allowed_targets(source: RunState, kind: RunKind) -> frozenset[RunState]:
    return frozenset(t for t in RunState if isinstance(decide(source, t, kind), Allowed))


def in_order(states: frozenset[RunState]) -> tuple[RunState, ...]:
    """`states` in the machine's order (QUEUED first), for messages that list them."""
    return tuple(state for state in RunState if state in states)
