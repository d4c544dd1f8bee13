"""What happened to runs and pipelines, published to whoever subscribed (DESIGN §2).

`runs` never calls drift, hand-off, notifications or VCS reports: it publishes an event in the
transaction that caused it, and the packages that care subscribe at start-up
(`orchestrator/subscribers.py`). A subscriber writes its own outbox row (a notification
delivery, a report due, a hand-off) in the same transaction, so an event is never lost and
never delivered for a change that rolled back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from orchestrator.models import Run
from orchestrator.runs.queue import Doorbell
from orchestrator.runstate import RunState


@dataclass(frozen=True)
class RunChanged:
    """A run moved from `source` to `target` (its row already shows `target`)."""

    run: Run
    source: RunState
    target: RunState


@dataclass(frozen=True)
class RunEnded:
    """A run became terminal and its pipeline advanced; the lock may still be held."""

    run: Run


@dataclass(frozen=True)
class PipelineChanged:
    """A pipeline's picture changed outside its runs (created, or ended with a note)."""

    pipeline_id: int


Event = RunChanged | RunEnded | PipelineChanged
E = TypeVar("E", RunChanged, RunEnded, PipelineChanged)
Subscriber = Callable[[Session, E], list[Doorbell]]


class NotWired(RuntimeError):
    """An event was published before the process subscribed anyone: it would be lost."""


_subscribers: dict[type[Event], list[Callable[[Session, object], list[Doorbell]]]] = {}


def subscribe(kind: type[E], subscriber: Subscriber[E]) -> None:
    """Call `subscriber` for every event of `kind`, in the publishing transaction."""
    handlers = _subscribers.setdefault(kind, [])
    if subscriber not in handlers:
        handlers.append(subscriber)  # type: ignore[arg-type]


def wired() -> bool:
    return bool(_subscribers)


def publish(session: Session, event: Event) -> list[Doorbell]:
    """Hand `event` to its subscribers; the doorbells they want rung after the commit."""
    if not _subscribers:
        raise NotWired(
            f"{type(event).__name__} published before orchestrator.subscribers.install() ran"
        )
    bells: list[Doorbell] = []
    for subscriber in _subscribers.get(type(event), []):
        bells += subscriber(session, event)
    return bells
