"""Request-scoped dependencies: a database session and the calling principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException
from sqlalchemy.orm import Session

from orchestrator.auth import Principal, authenticate
from orchestrator.db import get_sessionmaker
from orchestrator.runs import actions
from orchestrator.runs.queue import ring_all


def get_session() -> Iterator[Session]:
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def current_principal(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(
            401, "missing Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"}
        )
    principal = authenticate(session, authorization[7:].strip())
    if principal is None:
        raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(principal: Principal, role: str, doing: str) -> None:
    if not principal.has(role):
        raise HTTPException(
            403, f"token {principal.name!r} has role {principal.role}; {doing} needs {role}"
        )


def settle(session: Session, result: actions.Done | actions.Refusal) -> actions.Done:
    """A refusal becomes its HTTP error with nothing written; a success is committed, then
    its doorbells are rung."""
    if isinstance(result, actions.Refusal):
        session.rollback()
        raise HTTPException(result.status, result.reason)
    session.commit()
    ring_all(result.doorbells)
    return result
