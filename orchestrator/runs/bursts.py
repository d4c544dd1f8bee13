"""Pushes processed in bursts: one doorbell takes every push of its repository that waits, and
a run of pushes to the tracked branch that follow one another (each one's `before` is the
previous one's `after`) becomes ONE pipeline, for the newest head, diffed from the oldest
`before`: one fetch, one graph, one set of runs. The older pushes of the run end with the
newest one's status and say which event stood for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orchestrator.models import Event, Repository, utcnow

BURST_LIMIT = 500
"""The most pushes one doorbell claims; the rest wait for the next doorbell."""


@dataclass(frozen=True)
class Waiting:
    """A claimed push, as much of it as grouping needs."""

    id: int
    event_type: str
    ref: str
    before: str
    after: str


@dataclass(frozen=True)
class Step:
    """Process event `event_id`, diffed from `since` (None: its own `before`); it stands for
    the older pushes `stands_for` as well."""

    event_id: int
    since: str | None = None
    stands_for: tuple[int, ...] = ()


def steps(claimed: Sequence[Waiting], tracked_branch: str) -> list[Step]:
    """What to process, oldest first: each chain of consecutive tracked-branch pushes as one
    step for its newest head; anything else (a proposal, a review, a push that does not follow
    on: a force push, a late delivery) on its own, as it came."""
    tracked_ref = f"refs/heads/{tracked_branch}"
    done: list[Step] = []
    chain: list[Waiting] = []

    def close() -> None:
        if chain:
            head = chain[-1]
            since = chain[0].before if len(chain) > 1 else None
            done.append(Step(head.id, since, tuple(w.id for w in chain[:-1])))
            chain.clear()

    for waiting in sorted(claimed, key=lambda w: w.id):
        if waiting.event_type != "push" or waiting.ref != tracked_ref:
            close()
            done.append(Step(waiting.id))
            continue
        if chain and chain[-1].after not in (waiting.before, waiting.after):
            close()
        chain.append(waiting)
    close()
    return done


def claim(session: Session, event_id: int) -> list[Step]:
    """received → processing for every push of the repository of `event_id` that waits (at
    most BURST_LIMIT, oldest first); nothing when another worker took them already."""
    event = session.get(Event, event_id)
    if event is None:
        return []
    repository = session.get(Repository, event.repository_id)
    assert repository is not None
    waiting = (
        select(Event.id)
        .where(Event.repository_id == repository.id, Event.status == "received")
        .order_by(Event.id)
        .limit(BURST_LIMIT)
    )
    rows = session.execute(
        update(Event)
        .where(Event.id.in_(waiting), Event.status == "received")
        .values(status="processing", attempts=Event.attempts + 1, claimed_at=utcnow())
        .returning(Event.id, Event.event_type, Event.ref, Event.before_sha, Event.after_sha),
        execution_options={"synchronize_session": False},
    ).all()
    claimed = [Waiting(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]
    return steps(claimed, repository.branch)


def first_waiting(session: Session, event_id: int) -> int | None:
    """The oldest push of the event's repository still `received`: one stored while a claim
    was being made, whose doorbell the intake held back because the push it had rung for
    still looked waiting (webhooks/groupcommit.still_waiting)."""
    repository = select(Event.repository_id).where(Event.id == event_id).scalar_subquery()
    waiting = (
        select(Event.id)
        .where(Event.repository_id == repository, Event.status == "received")
        .order_by(Event.id)
        .limit(1)
    )
    return session.scalar(waiting)


def settle(session: Session, step: Step) -> None:
    """The pushes a step stood for end as its event did, saying so."""
    if not step.stands_for:
        return
    head = session.get(Event, step.event_id)
    assert head is not None
    detail = (
        f"one of {len(step.stands_for) + 1} consecutive pushes to {head.ref} processed as one "
        f"by event {head.id} (commit {head.after_sha[:12]}, changes since "
        f"{(step.since or '')[:12]}), which ended {head.status}: {head.detail}"
    )
    session.execute(
        update(Event)
        .where(Event.id.in_(step.stands_for), Event.status == "processing")
        .values(status=head.status, detail=detail, processed_at=head.processed_at or utcnow()),
        execution_options={"synchronize_session": False},
    )
