"""Notification targets and their outbox: events are queued in the transaction that caused
them and sent by a beat task, signed, retried with backoff; a target whose delivery fails
every attempt is disabled and shown as such."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import outbox
from orchestrator.models import NotificationDelivery, NotificationTarget, Run, utcnow
from orchestrator.notifications import messages
from orchestrator.secrets.crypto import decrypt, encrypt
from orchestrator.secrets.masking import redact_url

log = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class TargetRefused:
    status: int
    reason: str


def _context(target_url: str) -> str:
    return f"notification:{target_url}"


def create_target(
    session: Session,
    url: str,
    events: Sequence[str],
    secret: str,
    repository_id: int | None,
    actor: str,
) -> NotificationTarget | TargetRefused:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return TargetRefused(422, f"notification url must be http(s)://…, not {redact_url(url)!r}")
    unknown = sorted(set(events) - set(messages.EVENTS))
    if unknown or not events:
        return TargetRefused(
            422, f"events must be some of {', '.join(messages.EVENTS)} (unknown: {unknown})"
        )
    if len(secret) < 16:
        return TargetRefused(422, "the signing secret needs at least 16 characters")
    target = NotificationTarget(
        repository_id=repository_id,
        url=url,
        events=sorted(set(events)),
        secret_enc=encrypt(secret, _context(url)),
        created_by=actor,
    )
    session.add(target)
    session.flush()
    return target


def targets(session: Session) -> list[NotificationTarget]:
    """Every target, in the order they were added."""
    return list(session.scalars(select(NotificationTarget).order_by(NotificationTarget.id)))


def view(target: NotificationTarget) -> dict[str, Any]:
    return {
        "id": target.id,
        "url": redact_url(target.url),
        "repository_id": target.repository_id,
        "events": target.events,
        "enabled": target.enabled,
        "disabled_reason": target.disabled_reason or None,
        "failed_deliveries": target.failed_deliveries,
        "created_at": target.created_at.isoformat(),
    }


def enqueue(
    session: Session,
    event: str,
    repository_id: int | None,
    text: str,
    detail: Mapping[str, Any],
) -> int:
    """An outbox row for every enabled target that wants `event`; the count queued."""
    targets = session.scalars(
        select(NotificationTarget).where(NotificationTarget.enabled.is_(True))
    ).all()
    queued = 0
    for target in targets:
        wanted = event in (target.events or [])
        mine = target.repository_id is None or target.repository_id == repository_id
        if wanted and mine:
            session.add(
                NotificationDelivery(
                    target_id=target.id, event=event, text=text, detail=dict(detail)
                )
            )
            queued += 1
    return queued


def run_changed(session: Session, run: Run, repository_id: int | None) -> None:
    """Called by the one writer of run state when a run reaches a state people hear about."""
    event = messages.run_event(run.state, run.kind)
    if event is None:
        return
    detail = {
        "id": run.id,
        "stack": run.stack_id,
        "kind": run.kind,
        "state": run.state,
        "commit": run.commit_sha,
        "plan_summary": run.plan_summary,
        "reason": run.failure_reason,
    }
    enqueue(session, event, repository_id, messages.run_text(event, detail), {"run": detail})


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    url: str
    event: str
    payload: bytes
    signature: str


CLAIM_SECONDS = 60.0
DELIVERIES = outbox.Queue(
    NotificationDelivery,
    NotificationDelivery.next_attempt_at,
    CLAIM_SECONDS,
    order_by=NotificationDelivery.id,
    ready=(NotificationDelivery.status.in_(("pending", "sending")),),
    attempts=NotificationDelivery.attempts,
    claimed={"status": "sending"},
)


def claim_due(session: Session, now: datetime, limit: int = 100) -> list[Outgoing]:
    """Deliveries whose time has come, marked `sending` by compare-and-set (two beats never
    send one delivery at once), an attempt counted; a send that never reported back is due
    again after CLAIM_SECONDS."""
    outgoing: list[Outgoing] = []
    for delivery_id in outbox.claim_due(session, DELIVERIES, now, limit):
        delivery = session.get(NotificationDelivery, delivery_id, populate_existing=True)
        item = _outgoing(session, delivery) if delivery is not None else None
        if item is not None:
            outgoing.append(item)
    return outgoing


def _outgoing(session: Session, delivery: NotificationDelivery) -> Outgoing | None:
    target = session.get(NotificationTarget, delivery.target_id)
    if target is None or not target.enabled:
        delivery.status = "skipped"
        return None
    payload = messages.body(
        delivery.event,
        delivery.id,
        delivery.created_at.isoformat(),
        delivery.text,
        delivery.detail,
    )
    secret = decrypt(target.secret_enc, _context(target.url))
    return Outgoing(
        delivery.id, target.url, delivery.event, payload, messages.signature(secret, payload)
    )


def send(outgoing: Outgoing) -> str | None:
    """POST one delivery; None when the receiver took it (2xx), else why not."""
    headers = {
        "Content-Type": "application/json",
        messages.SIGNATURE_HEADER: outgoing.signature,
        "X-Stackrun-Event": outgoing.event,
        "X-Stackrun-Delivery": str(outgoing.delivery_id),
    }
    try:
        response = httpx.post(
            outgoing.url, content=outgoing.payload, headers=headers, timeout=SEND_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"the receiver answered {response.status_code}"


def record(
    session: Session,
    delivery_id: int,
    error: str | None,
    now: datetime,
    backoff: float,
    max_attempts: int,
) -> None:
    delivery = session.get(NotificationDelivery, delivery_id, populate_existing=True)
    if delivery is None:
        return
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, ""
        return
    delivery.last_error = error
    next_attempt = outbox.Retry(backoff, max_attempts).next_attempt(delivery.attempts, now)
    if next_attempt is not None:
        delivery.status, delivery.next_attempt_at = "pending", next_attempt
        return
    delivery.status = "failed"
    _disable(session, delivery, error)


def _disable(session: Session, delivery: NotificationDelivery, error: str) -> None:
    """A delivery failed every attempt: its target gets nothing more until re-created."""
    target = session.get(NotificationTarget, delivery.target_id)
    if target is None:
        return
    target.failed_deliveries += 1
    target.enabled = False
    target.disabled_reason = (
        f"delivery {delivery.id} ({delivery.event}) failed {delivery.attempts} times, last: {error}"
    )
    log.warning("notification target=%s disabled: %s", target.id, target.disabled_reason)


def deliver_due(
    session_factory: Any, backoff: float, max_attempts: int, now: datetime | None = None
) -> int:
    """Claim, send (outside any transaction), record. The number sent successfully."""

    def record_one(session: Session, item: Outgoing, error: str | None) -> None:
        record(session, item.delivery_id, error, utcnow(), backoff, max_attempts)

    def claim(session: Session) -> list[Outgoing]:
        return claim_due(session, now or utcnow())

    errors = outbox.deliver(session_factory, claim, send, record_one)
    return sum(error is None for error in errors)
