"""API tokens (stored as hashes, shown once), roles, and the audit trail."""

from __future__ import annotations

import hashlib
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import AuditEntry, Token, utcnow

ROLES = ("viewer", "approver", "admin")
SOURCE_IP: ContextVar[str | None] = ContextVar("stackrun_source_ip", default=None)
TOKEN_PREFIX = "srt_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name, role and the VCS login it acts for."""

    name: str
    role: str
    vcs_login: str | None = None

    def has(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, vcs_login: str | None = None) -> str:
    """Return the new token; the database keeps only its hash."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if session.scalar(select(Token).where(Token.name == name)) is not None:
        raise ValueError(f"a token named {name!r} already exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(Token(name=name, role=role, token_hash=hash_token(token), vcs_login=vcs_login))
    audit(session, f"token:{name}", "token.create", f"token:{name}", {"role": role})
    return token


def authenticate(session: Session, token: str) -> Principal | None:
    row = session.scalar(select(Token).where(Token.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    return Principal(name=row.name, role=row.role, vcs_login=row.vcs_login)


def audit(
    session: Session, actor: str, action: str, target: str, detail: dict[str, Any] | None = None
) -> None:
    """One audit row; the caller's address comes from the API request being served, if any."""
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            target=target,
            detail=detail or {},
            source_ip=SOURCE_IP.get(),
        )
    )


def audit_trail(
    session: Session,
    limit: int,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
) -> list[AuditEntry]:
    """Newest first, at most `limit`; `action` matches a prefix (`run.` → every run action)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    if target:
        query = query.where(AuditEntry.target == target)
    return list(session.scalars(query))


def listed_tokens(session: Session) -> list[Token]:
    """Every token, live and revoked, oldest first (names and roles only: hashes stay)."""
    return list(session.scalars(select(Token).order_by(Token.id)))


def revoke_token(session: Session, name: str) -> bool:
    """Revoke a token by name; False when no live token has that name."""
    row = session.scalar(select(Token).where(Token.name == name, Token.revoked_at.is_(None)))
    if row is None:
        return False
    row.revoked_at = utcnow()
    return True
