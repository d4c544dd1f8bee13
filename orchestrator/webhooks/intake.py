"""Accept a webhook delivery: match the repository, verify, dedupe, store. Outcomes are data."""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator import securitylog
from orchestrator.db import JsonText, load_json
from orchestrator.models import Event, Repository
from orchestrator.repos import trust_settings
from orchestrator.trust import fork_refusal
from orchestrator.vcs.mirror import ZERO_SHA
from orchestrator.webhooks import github, gitlab
from orchestrator.webhooks.directory import Directory
from orchestrator.webhooks.events import MalformedPayload, PushEvent, RepoRef, ReviewEvent

MAX_DELIVERY_ID = 200
MAX_REF = 255
# Escapes whose characters no text column stores; only a body holding one is walked.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
# One answer for a delivery that no registered repository's secret verifies, whether the
# repository it names exists or not: neither status nor body tells a stranger which one it is.
UNVERIFIED_GITHUB = (
    "signature does not match (X-Hub-Signature-256): the delivery is not signed with the "
    "webhook secret of a repository registered with stackrun under its name or clone URL; "
    "check both, and the secret"
)
UNVERIFIED_GITLAB = (
    "X-Gitlab-Token does not match the secret token of a repository registered with stackrun "
    "under the project's path or clone URL; check both, and the token"
)
# What a delivery for an unknown repository is checked against, so that it costs the same
# work as one for a known repository; nobody can sign with it.
_DECOY_SECRET = secrets.token_hex(32)


@dataclass(frozen=True)
class Outcome:
    """The HTTP answer to a delivery, and the event to process when one was stored."""

    status: int
    body: dict[str, Any]
    event_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pending:
    """A verified delivery to store: the event row, and why it starts no work (None: it does)."""

    row: dict[str, Any]
    reason: str | None


def _refuse(status: int, message: str) -> Outcome:
    return Outcome(status, {"detail": message})


def _no_constant(name: str) -> None:
    raise MalformedPayload(f"body is not valid JSON: {name} is no JSON number")


def _finite(number: str) -> float:
    """A JSON number as a float; one beyond a float's range is refused: read as infinity, it
    would be written back as `Infinity`, which no JSON column takes."""
    value = float(number)
    if not math.isfinite(value):
        raise MalformedPayload(f"body is not valid JSON: the number {number[:40]} exceeds a float")
    return value


def _plain_utf8(body: bytes) -> bool:
    """Whether the body is UTF-8 without a byte order mark, whose escapes show in its bytes
    (json.loads also reads UTF-16 and UTF-32, which it tells by NUL bytes at the start)."""
    return not body.startswith(b"\xef\xbb\xbf") and b"\x00" not in body[:4]


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        payload = load_json(body, parse_constant=_no_constant, parse_float=_finite)
    except MalformedPayload:
        raise
    except ValueError as exc:  # not JSON, not UTF-8, or a number past Python's digit limit
        raise MalformedPayload(f"body is not valid JSON: {exc}") from exc
    except RecursionError:
        raise MalformedPayload("body is not valid JSON: nested too deeply") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("body must be a JSON object")
    try:
        looked = _UNSTORABLE_ESCAPE.search(body) or not _plain_utf8(body)
        problem = _unstorable(payload) if looked else None
    except RecursionError:
        raise MalformedPayload("body is not valid JSON: nested too deeply") from None
    if problem:
        raise MalformedPayload(f"body is JSON no database can store: a string holds {problem}")
    return payload


def as_stored(body: bytes, payload: dict[str, Any]) -> JsonText:
    """The payload column's value: the body's own text when it is UTF-8 (what GitHub and
    GitLab send), so the document is not serialised again; otherwise the parsed document
    serialised."""
    if _plain_utf8(body):  # not a byte order mark, which no JSON column reads, nor UTF-16/32
        try:
            return JsonText(body.decode())
        except UnicodeDecodeError:
            pass
    return JsonText(json.dumps(payload))


def _unstorable(value: Any) -> str | None:
    """What in these strings (keys too) no UTF-8 text column can hold: a NUL character
    (PostgreSQL refuses it) or a lone UTF-16 surrogate, which JSON's `\\ud800` escape
    decodes to and UTF-8 cannot encode. A surrogate pair (an emoji) is one character."""
    if isinstance(value, str):
        if "\x00" in value:
            return "a NUL character (\\u0000)"
        try:
            value.encode()
        except UnicodeEncodeError:
            return "an unpaired UTF-16 surrogate (\\ud800-\\udfff)"
        return None
    if isinstance(value, dict):
        parts = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        parts = value
    else:
        return None
    return next((problem for part in parts if (problem := _unstorable(part))), None)


def _unsigned(provider: str, message: str) -> Outcome:
    securitylog.refused(securitylog.UNSIGNED_WEBHOOK, message, provider=provider)
    return _refuse(401, message)


def _unverified(provider: str, ref: RepoRef, delivery: str, message: str) -> Outcome:
    """The one answer to a delivery no registered repository's secret verifies; the log says
    which repository it named, so an operator can tell a rotated secret from a stranger."""
    securitylog.refused(
        securitylog.BAD_WEBHOOK_SIGNATURE,
        "signature does not match the secret of a repository registered under that name or URL",
        provider=provider,
        repository=ref.full_name,
        delivery=delivery,
    )
    return _refuse(401, message)


def receive_github(session: Session, headers: Mapping[str, str], body: bytes) -> Outcome:
    return store(session, judge_github(Directory.read(session, "github"), headers, body))


def receive_gitlab(session: Session, headers: Mapping[str, str], body: bytes) -> Outcome:
    return store(session, judge_gitlab(Directory.read(session, "gitlab"), headers, body))


def judge_github(
    directory: Directory, headers: Mapping[str, str], body: bytes
) -> Outcome | Pending:
    """The answer to a GitHub delivery, or the event to store; reads nothing but `directory`."""
    signature = headers.get(github.SIGNATURE_HEADER, "")
    if not signature:
        return _unsigned(
            "github", "missing X-Hub-Signature-256: unsigned webhooks are never accepted"
        )
    event_type = headers.get(github.EVENT_HEADER, "")
    delivery = headers.get(github.DELIVERY_HEADER, "")
    if not event_type or not delivery:
        return _refuse(422, "missing X-GitHub-Event or X-GitHub-Delivery header")
    try:
        payload = parse_json(body)
        ref = github.repo_ref(payload)
    except MalformedPayload as exc:
        return _refuse(422, f"malformed github {event_type} payload: {exc}")
    repository = directory.match(ref)
    secret = directory.secret(repository) if repository is not None else _DECOY_SECRET
    if not github.verify(secret, body, signature) or repository is None:
        return _unverified("github", ref, delivery, UNVERIFIED_GITHUB)
    if event_type == "ping":
        return Outcome(200, {"status": "pong", "repository": repository.name})
    if event_type == github.PULL_REQUEST_EVENT:
        try:
            review = github.review_event(payload)
        except MalformedPayload as exc:
            return _refuse(422, f"malformed github pull_request payload: {exc}")
        return _review(delivery, "github", repository, review, as_stored(body, payload))
    if event_type != "push":
        return Outcome(200, {"status": "ignored", "reason": f"event {event_type!r} is not handled"})
    try:
        push = github.push_event(payload, ref)
    except MalformedPayload as exc:
        return _refuse(422, f"malformed github push payload: {exc}")
    return _push(delivery, "github", repository, push, as_stored(body, payload))


def judge_gitlab(
    directory: Directory, headers: Mapping[str, str], body: bytes
) -> Outcome | Pending:
    """The answer to a GitLab delivery, or the event to store; reads nothing but `directory`."""
    token = headers.get(gitlab.TOKEN_HEADER, "")
    if not token:
        return _unsigned("gitlab", "missing X-Gitlab-Token: unsigned webhooks are never accepted")
    event_type = headers.get(gitlab.EVENT_HEADER, "")
    delivery = next((headers[h] for h in gitlab.DELIVERY_HEADERS if headers.get(h)), "")
    if not event_type or not delivery:
        return _refuse(422, "missing X-Gitlab-Event or X-Gitlab-Event-UUID/Idempotency-Key header")
    try:
        payload = parse_json(body)
        ref = gitlab.repo_ref(payload)
    except MalformedPayload as exc:
        return _refuse(422, f"malformed gitlab {event_type} payload: {exc}")
    repository = directory.match(ref)
    secret = directory.secret(repository) if repository is not None else _DECOY_SECRET
    if not gitlab.verify(secret, token) or repository is None:
        return _unverified("gitlab", ref, delivery, UNVERIFIED_GITLAB)
    if event_type == gitlab.MERGE_REQUEST_EVENT:
        try:
            review = gitlab.review_event(payload)
        except MalformedPayload as exc:
            return _refuse(422, f"malformed gitlab merge request payload: {exc}")
        return _review(delivery, "gitlab", repository, review, as_stored(body, payload))
    if event_type != gitlab.PUSH_EVENT:
        return Outcome(200, {"status": "ignored", "reason": f"event {event_type!r} is not handled"})
    try:
        push = gitlab.push_event(payload, ref)
    except MalformedPayload as exc:
        return _refuse(422, f"malformed gitlab push payload: {exc}")
    return _push(delivery, "gitlab", repository, push, as_stored(body, payload))


def ignore_reason(push: PushEvent) -> str | None:
    """Why a verified push starts no work, or None when it should be processed."""
    if push.branch is None:
        return f"ref {push.ref} is not a branch"
    if push.after == ZERO_SHA:
        return f"branch {push.branch} was deleted; a deleted branch never triggers a destroy"
    return None


def _push(
    delivery: str,
    provider: str,
    repository: Repository,
    push: PushEvent,
    payload: JsonText,
) -> Outcome | Pending:
    """A push to the tracked branch plans to apply; to any other branch it proposes."""
    row = dict(
        provider=provider,
        delivery_id=delivery,
        event_type="push",
        repository_id=repository.id,
        ref=push.ref,
        before_sha=push.before,
        after_sha=push.after,
        pusher=push.pusher[:200],
        payload=payload,
    )
    return _pending(row, ignore_reason(push))


def _review(
    delivery: str,
    provider: str,
    repository: Repository,
    review: ReviewEvent,
    payload: JsonText,
) -> Outcome | Pending:
    """A pull/merge request opened or updated proposes its head commit; closed ends its runs."""
    row = dict(
        provider=provider,
        delivery_id=delivery,
        event_type="pull_request" if provider == "github" else "merge_request",
        repository_id=repository.id,
        ref=_review_ref(provider, review),
        before_sha=ZERO_SHA,
        after_sha=review.head_sha,
        pusher=review.author[:200],
        pr_number=review.number,
        action=review.action,
        payload=payload,
    )
    reason = None
    if review.action == "ignored":
        reason = review.reason or "the event changes no code"
    elif review.action != "closed":
        reason = fork_refusal(
            review.number, bool(review.head_clone_url), trust_settings(repository)
        )
    return _pending(row, reason)


def _review_ref(provider: str, review: ReviewEvent) -> str:
    """The head branch, or for a fork (whose branch names may be anyone's, `main` included)
    the provider's own ref of the pull/merge request, so proposals of two forks never meet."""
    if not review.head_clone_url:
        return f"refs/heads/{review.head_branch}"
    if provider == "github":
        return f"refs/pull/{review.number}/head"
    return f"refs/merge-requests/{review.number}/head"


def _pending(row: dict[str, Any], reason: str | None) -> Outcome | Pending:
    if len(row["delivery_id"]) > MAX_DELIVERY_ID or len(row["ref"]) > MAX_REF:
        return _refuse(
            422,
            f"delivery id must be at most {MAX_DELIVERY_ID} characters and ref at most {MAX_REF}",
        )
    row["status"] = "ignored" if reason else "received"
    row["detail"] = reason or ""
    return Pending(row, reason)


def stored(pending: Pending, event_id: int | None) -> Outcome:
    """The answer to a delivery stored as `event_id`; None: a duplicate of a stored one."""
    delivery = pending.row["delivery_id"]
    if event_id is None:
        return Outcome(200, {"status": "duplicate", "delivery_id": delivery})
    if pending.reason:
        return Outcome(
            200, {"status": "ignored", "reason": pending.reason, "delivery_id": delivery}
        )
    return Outcome(
        202,
        {"status": "accepted", "delivery_id": delivery, "event_id": event_id},
        event_id=event_id,
    )


def store(session: Session, judged: Outcome | Pending) -> Outcome:
    """Store one judged delivery (a savepoint: a duplicate leaves the session usable)."""
    if isinstance(judged, Outcome):
        return judged
    row = judged.row
    if isinstance(row["payload"], JsonText):  # the ORM serialises what it stores itself
        row = {**row, "payload": json.loads(row["payload"].text)}
    event = Event(**row)
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError:
        return stored(judged, None)
    return stored(judged, event.id)


def delivery(session: Session, delivery_id: str) -> Event | None:
    """The stored event of a delivery, by the id its provider gave it."""
    return session.scalar(select(Event).where(Event.delivery_id == delivery_id))
