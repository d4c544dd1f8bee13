"""Tokens and the audit trail (admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy import select

from orchestrator.api.deps import PrincipalDep, SessionDep, require
from orchestrator.auth import audit, create_token
from orchestrator.models import AuditEntry

router = APIRouter(prefix="/api/v1", tags=["admin"])


class TokenIn(BaseModel):
    name: str
    role: str
    vcs_login: str | None = None


@router.post("/tokens", status_code=201)
def new_token(body: TokenIn, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    require(who, "admin", "creating a token")
    try:
        token = create_token(session, body.name, body.role, body.vcs_login)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(session, who.name, "token.issue", f"token:{body.name}", {"role": body.role})
    session.commit()
    return {"name": body.name, "role": body.role, "token": token}


@router.get("/audit")
def list_audit(session: SessionDep, who: PrincipalDep, limit: int = 200) -> list[dict[str, Any]]:
    require(who, "admin", "reading the audit trail")
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
    return [
        {
            "id": r.id,
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "detail": r.detail,
            "at": r.at.isoformat(),
        }
        for r in rows
    ]
