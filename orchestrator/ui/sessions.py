"""Server-side sessions of the web UI: a browser signs in with an API token and gets a random
session id in a cookie; the database keeps its hash, the token's row and the session's CSRF
token. A revoked token ends its sessions; an expired session is gone."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from orchestrator.auth import SOURCE_IP, Principal, audit, hash_token
from orchestrator.models import Token, UiSession, utcnow

log = logging.getLogger(__name__)
LIFETIME = timedelta(hours=8)
COOKIE = "stackrun_session"


@dataclass(frozen=True)
class SignedIn:
    """The browser's principal and the CSRF token its forms carry."""

    principal: Principal
    csrf: str
    expires_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def sign_in(session: Session, token: str) -> tuple[str, SignedIn] | None:
    """A new session for a live token (always a new id: a session id set before sign-in is
    never reused), or None for an unknown or revoked token."""
    row = session.scalar(select(Token).where(Token.token_hash == hash_token(token.strip())))
    if row is None or row.revoked_at is not None:
        return None
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    ui = UiSession(
        id_hash=_hash(session_id),
        token_id=row.id,
        csrf=secrets.token_urlsafe(32),
        source_ip=SOURCE_IP.get(),
        created_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(ui)
    session.execute(delete(UiSession).where(UiSession.expires_at < now))
    audit(session, row.name, "ui.sign_in", f"token:{row.name}")
    log.info("ui sign-in", extra={"token": row.name, "source_ip": ui.source_ip})
    principal = Principal(name=row.name, role=row.role, vcs_login=row.vcs_login)
    return session_id, SignedIn(principal, ui.csrf, ui.expires_at)


def current(session: Session, session_id: str | None) -> SignedIn | None:
    """The live session this cookie names, with its token's principal; None when the cookie
    names no session, an expired one, or one whose token was revoked."""
    if not session_id:
        return None
    found = session.execute(
        select(UiSession, Token)
        .join(Token, Token.id == UiSession.token_id)
        .where(UiSession.id_hash == _hash(session_id))
    ).first()
    if found is None:
        return None
    ui, token = found
    if token.revoked_at is not None or _aware(ui.expires_at) <= utcnow():
        return None
    principal = Principal(name=token.name, role=token.role, vcs_login=token.vcs_login)
    return SignedIn(principal, ui.csrf, ui.expires_at)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive times; every time stackrun stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def sign_out(session: Session, session_id: str | None, who: Principal | None) -> None:
    if not session_id:
        return
    session.execute(delete(UiSession).where(UiSession.id_hash == _hash(session_id)))
    if who is not None:
        audit(session, who.name, "ui.sign_out", f"token:{who.name}")


def csrf_matches(signed: SignedIn, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(signed.csrf.encode(), sent.encode())
