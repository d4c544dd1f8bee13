"""Request-scoped dependencies: a database session, the calling principal and its one role
check, and the bounded types of ids and page sizes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy.orm import Session

from orchestrator import securitylog
from orchestrator.api.security import TOKEN
from orchestrator.auth import Principal, authenticate
from orchestrator.db import get_sessionmaker
from orchestrator.models import MAX_INTEGER
from orchestrator.runs import actions
from orchestrator.runs.queue import ring_all

# A row's id: what the database can hold, so a number no row can have is a 422, not a query.
Id = Annotated[
    int, Path(ge=1, le=MAX_INTEGER, description="A row id (1 to 2147483647).", examples=[1])
]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_INTEGER, description="Only rows of this id.")]
NumberFilter = Annotated[
    int | None, Query(ge=1, le=MAX_INTEGER, description="A pull or merge request number.")
]


class RequestBody(BaseModel):
    """A JSON request body, taken as its document types it: `0` is no boolean and `"1"` no
    number (pydantic would otherwise coerce them), and no text holds a NUL character, which
    PostgreSQL cannot store (nor an environment variable carry)."""

    model_config = ConfigDict(strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if holds_nul(value):
            raise ValueError("text must not contain a NUL character (\\u0000)")
        return value


def holds_nul(value: Any) -> bool:
    """Whether a NUL character is in this text, or in any text (key or value) inside it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    return False


def page_limit(maximum: int) -> Any:
    """`limit`: how many rows, newest first, 1 to `maximum`."""
    return Query(ge=1, le=maximum, description=f"How many rows, newest first (1 to {maximum}).")


def get_session() -> Iterator[Session]:
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
BEARER = {"WWW-Authenticate": "Bearer"}


def current_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(TOKEN)],
) -> Principal:
    if credentials is None:
        reason = "missing Authorization: Bearer <token>"
        securitylog.refused(securitylog.MISSING_TOKEN, reason)
        raise HTTPException(401, reason, headers=BEARER)
    principal = authenticate(session, credentials.credentials.strip())
    if principal is None:
        reason = "unknown token: it was never issued or has been revoked; ask an admin for one"
        securitylog.refused(securitylog.UNKNOWN_TOKEN, reason)
        raise HTTPException(401, reason, headers=BEARER)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def forbid(principal: Principal, reason: str) -> HTTPException:
    """The 403 for a valid token that may not do this, logged as a security event."""
    securitylog.refused(securitylog.FORBIDDEN, reason, token=principal.name, role=principal.role)
    return HTTPException(403, reason)


def require(principal: Principal, role: str, doing: str) -> Principal:
    """The one role check: `principal` when it has `role` (or a higher one), else the 403
    that names what it was doing. Routes reach it through `authorized` (or a dependency of
    their own when the role depends on the row, as a run's log does); the services they call
    take the principal as authorized and refuse only on business grounds."""
    if not principal.has(role):
        raise forbid(
            principal, f"token {principal.name!r} has role {principal.role}; {doing} needs {role}"
        )
    return principal


def authorized(role: str, doing: str) -> Any:
    """A dependency: the calling principal, authorized for `role` (`require`). It runs before
    the request's own parameters are read, so a token without the role meets its 403 first."""

    def check(who: PrincipalDep) -> Principal:
        return require(who, role, doing)

    return Depends(check)


def settle(
    session: Session, result: actions.Done | actions.Refusal, who: Principal
) -> actions.Done:
    """A refusal becomes its HTTP error with nothing written; a success is committed, then
    its doorbells are rung."""
    if isinstance(result, actions.Refusal):
        session.rollback()
        if result.status == 403:
            raise forbid(who, result.reason)
        raise HTTPException(result.status, result.reason)
    session.commit()
    ring_all(result.doorbells)
    return result
