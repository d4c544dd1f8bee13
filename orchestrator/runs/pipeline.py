"""Pipeline advance: which queued runs may start and which must be skipped. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.runstate import BLOCKING, RunState


@dataclass(frozen=True)
class Advance:
    eligible: tuple[int, ...]
    skipped: tuple[tuple[int, str], ...]


def advance(states: Mapping[int, RunState], upstreams: Mapping[int, Sequence[int]]) -> Advance:
    """For each QUEUED run: eligible when every upstream FINISHED, skipped when one ended badly."""
    eligible: list[int] = []
    skipped: list[tuple[int, str]] = []
    for run_id, state in sorted(states.items()):
        if state != RunState.QUEUED:
            continue
        ups = [u for u in upstreams.get(run_id, ()) if u in states]
        blocked = [u for u in ups if states[u] in BLOCKING]
        if blocked:
            skipped.append((run_id, f"upstream run {blocked[0]} ended {states[blocked[0]]}"))
        elif all(states[u] == RunState.FINISHED for u in ups):
            eligible.append(run_id)
    return Advance(tuple(eligible), tuple(skipped))


def is_eligible(states: Mapping[int, RunState], upstreams: Sequence[int]) -> bool:
    return all(states.get(u) == RunState.FINISHED for u in upstreams)
