"""Group commit of webhook deliveries: the deliveries that arrive while one transaction
commits are verified and stored together in the next, and each is answered only once the
transaction holding it has committed (a 202 still means the event is durably stored).

One writer per event loop: a delivery waits for at most the batch in flight, and a burst costs
one transaction, one INSERT … ON CONFLICT DO NOTHING and one doorbell per repository instead of
one of each per delivery. Dedupe is the database's: a delivery id seen twice in a batch is one
row, and across processes the unique key (provider, delivery_id) decides, so two identical
deliveries at once still make one event."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from anyio import to_thread
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from orchestrator.db import get_engine, get_sessionmaker, insert_many
from orchestrator.models import Event, utcnow
from orchestrator.runs.queue import ring
from orchestrator.webhooks import intake
from orchestrator.webhooks.directory import Directory
from orchestrator.webhooks.intake import Outcome, Pending

log = logging.getLogger(__name__)
MAX_BATCH = 128
LINGER_SECONDS = 0.001
LINGER_TURNS = 3
"""Turns of the event loop a batch waits for one more delivery before it is written."""
_JUDGES = {"github": intake.judge_github, "gitlab": intake.judge_gitlab}
_COLUMNS = (
    "provider",
    "delivery_id",
    "event_type",
    "repository_id",
    "ref",
    "before_sha",
    "after_sha",
    "pusher",
    "pr_number",
    "action",
    "payload",
    "status",
    "detail",
)


@dataclass(frozen=True)
class Delivery:
    provider: str  # "github" | "gitlab"
    headers: Mapping[str, str]
    body: bytes
    context: contextvars.Context  # the request's: security events name its caller

    def judge(self, directory: Directory) -> Outcome | Pending:
        return self.context.run(_JUDGES[self.provider], directory, self.headers, self.body)


class Line:
    """The writer's own connection, kept from batch to batch (no pool checkout, liveness ping
    or reset per batch), in autocommit: a batch writes with one statement (`_insert`), which
    is its own transaction, durable when it returns, so no BEGIN and COMMIT go to the database
    apart from it, nor around the question asked after it. A connection that fails is
    dropped; the next batch opens a new one."""

    def __init__(self) -> None:
        self._connection: Connection | None = None

    def session(self) -> Session:
        if self._connection is None:
            connection = get_engine().connect()
            self._connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        return Session(bind=self._connection, expire_on_commit=False)

    def drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.invalidate()
                self._connection.close()
        self._connection = None


@dataclass(frozen=True)
class Stored:
    """A batch's answers, and per repository the newest event stored (its doorbell)."""

    outcomes: list[Outcome]
    newest: dict[int, int]


def store_batch(deliveries: Sequence[Delivery], line: Line) -> Stored:
    """Judge and store `deliveries` with one INSERT (committed as it returns). Should the
    batch fail, each delivery is stored on its own (and rung for), so one cannot fail the
    others."""
    session = line.session()
    try:
        outcomes, newest = _store_all(session, deliveries)
    except SQLAlchemyError as exc:
        line.drop()
        log.warning("storing %d deliveries at once failed, one by one: %s", len(deliveries), exc)
        return Stored([_store_alone(delivery) for delivery in deliveries], {})
    finally:
        session.close()
    return Stored(outcomes, newest)


def ring_for(newest: dict[int, int], line: Line) -> None:
    """Ring one doorbell per repository for its newest event (the worker takes every received
    push of the repository), unless the last one this process rang still waits."""
    if not newest:
        return
    session = line.session()
    try:
        waiting = still_waiting(session, newest)
    except SQLAlchemyError:
        line.drop()
        waiting = set()
    finally:
        session.close()
    _ring(newest, waiting)


_RUNG: dict[int, int] = {}
"""Per repository, the newest event whose doorbell this process rang."""


def still_waiting(session: Session, newest: dict[int, int]) -> set[int]:
    """The repositories whose last doorbell from this process is not answered yet: the event
    it rang for is still `received`. Asked after the commit, so the worker that answers it
    claims the events just committed too (runs/bursts.py)."""
    asked = [_RUNG[r] for r in newest if r in _RUNG]
    if not asked:
        return set()
    waiting = select(Event.repository_id).where(Event.id.in_(asked), Event.status == "received")
    return set(session.scalars(waiting))


def _ring(newest: dict[int, int], waiting: set[int]) -> None:
    """Ring for each repository's newest event, unless its last doorbell is still waiting."""
    for repository, event_id in sorted(newest.items()):
        if repository in waiting:
            continue
        if ring("process_push", event_id):
            _RUNG[repository] = event_id


def _store_alone(delivery: Delivery) -> Outcome:
    """`_store_one`; a delivery the database refuses on its own is answered with its own
    error (nothing of it stored), the deliveries beside it as they are stored."""
    try:
        return _store_one(delivery)
    except SQLAlchemyError as exc:
        log.error(
            "storing a %s delivery on its own failed (%s): answered 500, nothing stored",
            delivery.provider,
            type(exc).__name__,
        )
        return Outcome(500, {"detail": "the delivery could not be stored; send it again"})


def _store_one(delivery: Delivery) -> Outcome:
    session = get_sessionmaker()()
    try:
        directory = Directory.read(session, delivery.provider)
        judged = delivery.judge(directory)
        outcome = intake.store(session, judged)
        if outcome.status < 300:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
    if outcome.event_id is not None:
        ring("process_push", outcome.event_id)
    return outcome


def _store_all(
    session: Session, deliveries: Sequence[Delivery]
) -> tuple[list[Outcome], dict[int, int]]:
    directories: dict[str, Directory] = {}
    judged: list[Outcome | Pending] = []
    for delivery in deliveries:
        if delivery.provider not in directories:
            directories[delivery.provider] = Directory.read(session, delivery.provider)
        directory = directories[delivery.provider]
        judged.append(delivery.judge(directory))
    ids = _insert(session, [j for j in judged if isinstance(j, Pending)])
    outcomes: list[Outcome] = []
    newest: dict[int, int] = {}
    for item in judged:
        if isinstance(item, Outcome):
            outcomes.append(item)
            continue
        outcome = intake.stored(item, ids.pop(_key(item), None))
        outcomes.append(outcome)
        if outcome.event_id is not None:
            repository = item.row["repository_id"]
            newest[repository] = max(newest.get(repository, 0), outcome.event_id)
    return outcomes, newest


def _key(pending: Pending) -> tuple[str, str]:
    return pending.row["provider"], pending.row["delivery_id"]


def _insert(session: Session, pending: list[Pending]) -> dict[tuple[str, str], int]:
    """Insert the rows, the first of each delivery id; the ids of the rows inserted (a row
    whose delivery is already stored is skipped: a duplicate)."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    now = utcnow()
    for item in pending:
        row = {name: item.row.get(name) for name in _COLUMNS}
        row["action"] = row["action"] or ""
        rows.setdefault(_key(item), {**row, "attempts": 0, "received_at": now})
    inserted = insert_many(
        session,
        Event.__table__,  # type: ignore[arg-type]
        list(rows.values()),
        returning=("id", "provider", "delivery_id"),
        skip_conflicts_on=("provider", "delivery_id"),
    )
    return {(str(r.provider), str(r.delivery_id)): int(r.id) for r in inserted}


class GroupCommit:
    """The writer of one event loop: deliveries wait here while a batch commits."""

    def __init__(self) -> None:
        self._waiting: list[tuple[Delivery, asyncio.Future[Outcome]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._line = Line()
        weakref.finalize(self, self._line.drop)  # its event loop is gone

    async def submit(self, delivery: Delivery) -> Outcome:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._waiting.append((delivery, future))
        if self._writer is None:
            self._writer = loop.create_task(self._write())
        return await future

    async def _linger(self) -> None:
        """Let the requests being read join the batch: while each turn of the event loop
        brings more, up to LINGER_SECONDS (a fixed wait idles once every client has sent)."""
        deadline = asyncio.get_running_loop().time() + LINGER_SECONDS
        while len(self._waiting) < MAX_BATCH:
            seen = len(self._waiting)
            for _ in range(LINGER_TURNS):
                await asyncio.sleep(0)
            if len(self._waiting) == seen or asyncio.get_running_loop().time() >= deadline:
                return

    async def _write(self) -> None:
        """Batch after batch while deliveries wait. A batch's doorbells are rung after its
        deliveries are answered, while the next requests are read (a 202 needs the event
        stored, not the doorbell: the reaper rings for an event nobody rang for)."""
        ringing: asyncio.Future[None] | None = None
        try:
            while self._waiting or ringing is not None:
                if not self._waiting and ringing is not None:
                    await _rung(ringing)  # then see whether deliveries came meanwhile
                    ringing = None
                    continue
                await self._linger()
                if ringing is not None:  # one user of the connection at a time
                    await _rung(ringing)
                    ringing = None
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                stored = await self._store(batch)
                if stored is not None and stored.newest:
                    ring = to_thread.run_sync(ring_for, stored.newest, self._line)
                    ringing = asyncio.ensure_future(ring)
        finally:
            self._writer = None

    async def _store(self, batch: list[tuple[Delivery, asyncio.Future[Outcome]]]) -> Stored | None:
        """Store the batch and answer each of its deliveries (with the error, should it fail)."""
        try:
            stored = await to_thread.run_sync(store_batch, [d for d, _ in batch], self._line)
        except Exception as exc:  # every delivery of the batch gets the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return None
        for (_, future), outcome in zip(batch, stored.outcomes, strict=True):
            if not future.done():  # the client went away; the event is stored
                future.set_result(outcome)
        return stored


async def _rung(ringing: asyncio.Future[None]) -> None:
    try:
        await ringing
    except Exception:  # the reaper rings for events left received
        log.exception("ringing the doorbells of stored deliveries failed")


_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = (
    weakref.WeakKeyDictionary()
)


async def submit(provider: str, headers: Mapping[str, str], body: bytes) -> Outcome:
    """Verify and store one delivery with whatever else arrives meanwhile; its answer."""
    loop = asyncio.get_running_loop()
    writer = _WRITERS.get(loop)
    if writer is None:
        writer = _WRITERS[loop] = GroupCommit()
    return await writer.submit(Delivery(provider, headers, body, contextvars.copy_context()))
