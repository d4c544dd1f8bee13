"""Where a run's time went, from its history: waiting for a worker (`queue`: QUEUED, and
CONFIRMED until a worker applies), waiting for a human (`approval`: UNCONFIRMED) and Terraform
at work (`work`: preparing, initializing, planning, applying). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrator.runstate import RunState

S = RunState
PHASE_OF: dict[str, str] = {
    S.QUEUED: "queue",
    S.CONFIRMED: "queue",
    S.UNCONFIRMED: "approval",
    S.PREPARING: "work",
    S.INITIALIZING: "work",
    S.PLANNING: "work",
    S.APPLYING: "work",
}
PHASES = ("queue", "approval", "work")


def phase_seconds(
    created: datetime, transitions: Sequence[tuple[str, datetime]]
) -> dict[str, float]:
    """Seconds spent in each phase the run went through; `transitions` are (to_state, at)
    in order. A run starts QUEUED at `created`; time in an ended state counts nowhere."""
    spent: dict[str, float] = {}
    state, since = str(S.QUEUED), created
    for to_state, at in transitions:
        phase = PHASE_OF.get(state)
        if phase is not None and at >= since:
            spent[phase] = spent.get(phase, 0.0) + (at - since).total_seconds()
        state, since = to_state, at
    return spent
