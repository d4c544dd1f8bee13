"""Tokens and the audit trail (admin only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import Field

from orchestrator.api.deps import RequestBody, SessionDep, authorized, page_limit
from orchestrator.api.errors import responses
from orchestrator.auth import (
    Principal,
    audit,
    audit_trail,
    create_token,
    listed_tokens,
    revoke_token,
)

router = APIRouter(prefix="/api/v1", tags=["admin"], responses=responses(401, 403))


class TokenIn(RequestBody):
    # The audit trail names a token as `token:<name>` in 200 characters.
    name: str = Field(min_length=1, max_length=100)
    role: Literal["viewer", "approver", "admin"]
    vcs_login: str | None = Field(default=None, max_length=200)


@router.post("/tokens", status_code=201, responses=responses(409))
def new_token(
    body: TokenIn,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "creating a token")],
) -> dict[str, Any]:
    try:
        token = create_token(session, body.name, body.role, body.vcs_login)
    except ValueError as exc:
        raise HTTPException(409, f"creating token {body.name!r}: {exc}") from None
    audit(session, who.name, "token.issue", f"token:{body.name}", {"role": body.role})
    session.commit()
    return {"name": body.name, "role": body.role, "token": token}


@router.get("/tokens")
def list_tokens(
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "listing tokens")],
) -> list[dict[str, Any]]:
    """Every token by name and role, live or revoked; never a token nor its hash."""
    return [
        {
            "name": t.name,
            "role": t.role,
            "vcs_login": t.vcs_login,
            "created_at": t.created_at.isoformat(),
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
        }
        for t in listed_tokens(session)
    ]


@router.post("/tokens/{name}/revoke", responses=responses(404, 409))
def revoke(
    name: str,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "revoking a token")],
) -> dict[str, Any]:
    """Revoke a token at once. A token never revokes itself (409): an admin cannot lock the
    last admin out by mistake; revoke it with another admin token."""
    if name == who.name:
        raise HTTPException(
            409,
            f"revoking token {name!r}: it is the token making this request; revoke it with "
            "another admin token (`stackrun tokens create` makes one on the server)",
        )
    if not revoke_token(session, name):
        raise HTTPException(404, f"no live token named {name!r}")
    audit(session, who.name, "token.revoke", f"token:{name}")
    session.commit()
    return {"name": name, "revoked": True}


@router.get("/audit")
def list_audit(
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "reading the audit trail")],
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    limit: Annotated[int, page_limit(5000)] = 200,
) -> list[dict[str, Any]]:
    """Newest first; `action` matches a prefix (`run.` → every run action)."""
    rows = audit_trail(session, limit, actor, action, target)
    return [
        {
            "id": r.id,
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "detail": r.detail,
            "source_ip": r.source_ip,
            "at": r.at.isoformat(),
        }
        for r in rows
    ]
