"""When a supervised child that died is started again, and when the supervisor gives up. Pure."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    """Restart after `first_delay` seconds, doubling with each crash in the window up to
    `max_delay`; the `max_crashes`th crash within `window` seconds stops everything."""

    first_delay: float = 0.5
    max_delay: float = 8.0
    window: float = 60.0
    max_crashes: int = 5


@dataclass(frozen=True)
class Restart:
    delay: float
    crashes: tuple[float, ...]
    """The crash times still inside the window, the latest last."""


@dataclass(frozen=True)
class GiveUp:
    crashes: int
    window: float


def after_crash(policy: RestartPolicy, crashes: Sequence[float], now: float) -> Restart | GiveUp:
    """What to do about a child whose crashes (monotonic times, this one included) are
    `crashes`: the older ones fall out of the window, so a child that ran a while restarts fast."""
    recent = tuple(t for t in crashes if now - t < policy.window)
    if len(recent) >= policy.max_crashes:
        return GiveUp(len(recent), policy.window)
    delay = policy.first_delay * 2 ** max(len(recent) - 1, 0)
    return Restart(min(delay, policy.max_delay), recent)


def exit_status(returncode: int) -> str:
    """A child's end as a person reads it: `exit status 3`, `killed by SIGKILL (signal 9)`."""
    if returncode >= 0:
        return f"exit status {returncode}"
    number = -returncode
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"killed by signal {number}"
    return f"killed by {name} (signal {number})"
