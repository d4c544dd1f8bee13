"""The one outbox on a table of its own: claims by compare-and-set with a horizon, attempts
counted, backoff doubling up to a cap, and the claim → send → record loop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from orchestrator import outbox

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class _Base(DeclarativeBase):
    pass


class Letter(_Base):
    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


LETTERS = outbox.Queue(Letter, Letter.due_at, 60.0, ready=(Letter.status == "pending",))
COUNTED = outbox.Queue(
    Letter,
    Letter.due_at,
    60.0,
    order_by=Letter.id,
    attempts=Letter.attempts,
    claimed={"status": "sending"},
)


@pytest.fixture(autouse=True)
def letters_table(db: Session) -> None:
    """The outbox knows no table of stackrun's: this one lives in the test alone."""
    _Base.metadata.create_all(db.get_bind())


def _letters(db: Session, *due: datetime | None, status: str = "pending") -> list[int]:
    rows = [Letter(due_at=at, status=status) for at in due]
    db.add_all(rows)
    db.flush()
    return [row.id for row in rows]


def _row(db: Session, key: int) -> Letter:
    db.expire_all()
    row = db.get(Letter, key)
    assert row is not None
    return row


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def test_the_backoff_doubles_up_to_a_cap_and_gives_up_after_the_last_attempt() -> None:
    retry = outbox.Retry(base_seconds=10, max_attempts=3)
    assert [retry.wait(n) for n in (1, 2, 3, 9)] == [10, 20, 40, 300]
    assert retry.next_attempt(1, NOW) == NOW + timedelta(seconds=10)
    assert retry.next_attempt(2, NOW, at_least=90) == NOW + timedelta(seconds=90)
    assert retry.next_attempt(3, NOW) is None


def test_a_due_row_is_claimed_once_until_its_claim_expires(db: Session) -> None:
    (due,) = _letters(db, NOW - timedelta(seconds=1))
    assert outbox.claim_due(db, LETTERS, NOW, limit=10) == [due]
    assert outbox.claim_due(db, LETTERS, NOW, limit=10) == [], "a second claim gets nothing"
    assert _aware(_row(db, due).due_at) == NOW + timedelta(seconds=60)
    expired = NOW + timedelta(seconds=61)
    assert outbox.claim_due(db, LETTERS, expired, limit=10) == [due]


def test_only_ready_rows_due_now_are_claimed_in_order_up_to_the_limit(db: Session) -> None:
    later, first, second, third = _letters(
        db, NOW + timedelta(minutes=5), NOW - timedelta(minutes=3), NOW - timedelta(minutes=2), NOW
    )
    _letters(db, None)
    _letters(db, NOW - timedelta(minutes=9), status="delivered")
    assert outbox.claim_due(db, LETTERS, NOW, limit=2) == [first, second]
    assert outbox.claim_due(db, LETTERS, NOW, limit=10) == [third]
    assert later not in outbox.claim_due(db, LETTERS, NOW, limit=10)


def test_a_counted_claim_adds_an_attempt_and_sets_the_claimed_values(db: Session) -> None:
    (key,) = _letters(db, NOW)
    assert outbox.claim_due(db, COUNTED, NOW, limit=10) == [key]
    row = _row(db, key)
    assert (row.attempts, row.status) == (1, "sending")
    assert outbox.claim_due(db, COUNTED, NOW + timedelta(seconds=61), limit=10) == [key]
    assert _row(db, key).attempts == 2


def test_a_compare_and_set_changes_the_row_for_one_caller_only(db: Session) -> None:
    (key,) = _letters(db, NOW)
    pending = (Letter.id == key, Letter.status == "pending")
    assert outbox.take(db, Letter, pending, {"status": "sending"})
    assert not outbox.take(db, Letter, pending, {"status": "sending"})
    assert not outbox.take(db, Letter, (Letter.id == 12345,), {"status": "sending"})


def test_delivering_sends_outside_any_transaction_and_records_each_outcome_alone(
    db: Session,
) -> None:
    keys = _letters(db, NOW, NOW)
    opened: list[str] = []
    open_now = [0]

    @contextmanager
    def factory() -> Iterator[Session]:
        open_now[0] += 1
        try:
            yield db
        finally:
            open_now[0] -= 1

    def claim(session: Session) -> list[int]:
        opened.append("claim")
        return outbox.claim_due(session, LETTERS, NOW, limit=10)

    def send(key: int) -> str:
        assert open_now[0] == 0, "no transaction is open while sending"
        opened.append(f"send {key}")
        return f"sent {key}"

    def record(session: Session, key: int, outcome: str) -> None:
        opened.append(f"record {key}: {outcome}")
        session.get_one(Letter, key).status = "delivered"

    outcomes = outbox.deliver(factory, claim, send, record)

    assert outcomes == [f"sent {key}" for key in keys]
    assert opened == ["claim"] + [
        line for key in keys for line in (f"send {key}", f"record {key}: sent {key}")
    ]
    assert set(db.scalars(select(Letter.status))) == {"delivered"}
