"""The one outbox: what leaves the building (notifications, VCS reports, hand-offs) is claimed
by compare-and-set, sent outside any transaction, and its outcome recorded; a failure is tried
again with backoff until its attempts run out.

A claim pushes the row's due time `claim_seconds` ahead: two beats never send one row at once,
and a sender that died leaves a claim that expires on its own. Knows no table of its own: each
queue says which columns hold its due time and attempts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, inspect, select, update
from sqlalchemy.orm import QueryableAttribute, Session

SessionFactory = Callable[[], AbstractContextManager[Session]]
Item = TypeVar("Item")
Result = TypeVar("Result")
BACKOFF_CAP_SECONDS = 300.0


@dataclass(frozen=True)
class Retry:
    """How a failed send is tried again: after base, 2 x base, 4 x base… seconds (up to a
    cap), until `max_attempts` attempts have failed."""

    base_seconds: float
    max_attempts: int
    cap_seconds: float = BACKOFF_CAP_SECONDS

    def wait(self, attempts: int) -> float:
        """Seconds to wait before attempt `attempts + 1`."""
        return float(min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1)))

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def next_attempt(self, attempts: int, now: datetime, at_least: float = 0.0) -> datetime | None:
        """When to try again after `attempts` attempts, the last of them failed (never sooner
        than `at_least` seconds, as a rate limit may ask); None when it gives up."""
        if self.gives_up(attempts):
            return None
        return now + timedelta(seconds=max(self.wait(attempts), at_least))


class Queue:
    """Where one outbox keeps its rows (keyed by `model`'s primary key): `due` holds when a
    row is next due (NULL: never), `order_by` which due rows go first (the longest due),
    `ready` which rows may be sent at all, `claimed` what a claim also sets.

    With `attempts`, a claim counts an attempt, and the compare-and-set also checks that
    nobody counted one since the row was read."""

    def __init__(
        self,
        model: type[Any],
        due: QueryableAttribute[Any],
        claim_seconds: float,
        *,
        order_by: QueryableAttribute[Any] | None = None,
        ready: tuple[ColumnElement[bool], ...] = (),
        attempts: QueryableAttribute[int] | None = None,
        claimed: Mapping[str, Any] | None = None,
    ) -> None:
        self.model, self.due, self.claim_seconds = model, due, claim_seconds
        self.key: ColumnElement[int] = inspect(model).primary_key[0]
        self.order_by = due if order_by is None else order_by
        self.ready, self.attempts, self.claimed = ready, attempts, dict(claimed or {})


def take(
    session: Session, model: type[Any], where: Iterable[Any], values: Mapping[str, Any]
) -> bool:
    """Compare-and-set one row: whether this caller is the one that changed it."""
    result = session.execute(
        update(model).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def claim_due(session: Session, queue: Queue, now: datetime, limit: int) -> list[int]:
    """The keys of up to `limit` due rows, each claimed by compare-and-set: due again
    `claim_seconds` from now, so a send that never reports back is tried again then."""
    due = (queue.due.is_not(None), queue.due <= now, *queue.ready)
    counted = queue.attempts
    columns: list[ColumnElement[int] | QueryableAttribute[int]] = [queue.key]
    if counted is not None:
        columns.append(counted)
    rows = session.execute(select(*columns).where(*due).order_by(queue.order_by).limit(limit))
    claimed: list[int] = []
    for key, *attempts in rows.all():
        where = [queue.key == key, *due]
        values = {queue.due.key: now + timedelta(seconds=queue.claim_seconds), **queue.claimed}
        if counted is not None:
            where.append(counted == attempts[0])
            values[counted.key] = attempts[0] + 1
        if take(session, queue.model, where, values):
            claimed.append(int(key))
    return claimed


def older_than(
    column: QueryableAttribute[Any], now: datetime, seconds: float
) -> ColumnElement[bool]:
    """The rows whose `column` (a claim, a creation) is more than `seconds` old."""
    return column < now - timedelta(seconds=seconds)


def deliver(
    session_factory: SessionFactory,
    claim: Callable[[Session], Sequence[Item]],
    send: Callable[[Item], Result],
    record: Callable[[Session, Item, Result], None],
) -> list[Result]:
    """Claim in one short transaction; send each item outside any transaction (a slow
    receiver never holds a lock); record each outcome in a transaction of its own."""
    with session_factory() as session:
        items = list(claim(session))
    outcomes: list[Result] = []
    for item in items:
        outcome = send(item)
        with session_factory() as session:
            record(session, item, outcome)
        outcomes.append(outcome)
    return outcomes
