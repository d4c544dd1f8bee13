"""Outgoing webhooks (admin): where stackrun tells people about runs, drift and hand-offs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import Field
from sqlalchemy import select

from orchestrator.api.deps import PrincipalDep, RequestBody, SessionDep, require
from orchestrator.api.errors import responses
from orchestrator.auth import audit
from orchestrator.models import NotificationTarget, Repository
from orchestrator.notifications import service

router = APIRouter(
    prefix="/api/v1/notifications", tags=["notifications"], responses=responses(401, 403)
)


class TargetIn(RequestBody):
    url: str = Field(min_length=1, max_length=2000)
    events: list[Annotated[str, Field(max_length=100)]] = Field(max_length=50)
    secret: str = Field(description="signs each body: X-Stackrun-Signature-256, never returned")
    repository: str | None = Field(
        None, max_length=200, description="a repository's name; none = every event"
    )


@router.post("", status_code=201, responses=responses(404, 422))
def create_target(body: TargetIn, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    require(who, "admin", "adding a notification target")
    repository_id = None
    if body.repository is not None:
        repository = session.scalar(select(Repository).where(Repository.name == body.repository))
        if repository is None:
            raise HTTPException(404, f"repository {body.repository!r} is not registered")
        repository_id = repository.id
    made = service.create_target(
        session, body.url, body.events, body.secret, repository_id, who.name
    )
    if isinstance(made, service.TargetRefused):
        session.rollback()
        raise HTTPException(made.status, made.reason)
    audit(
        session, who.name, "notification.create", f"notification:{made.id}", {"events": made.events}
    )
    session.commit()
    return service.view(made)


@router.get("")
def list_targets(session: SessionDep, who: PrincipalDep) -> list[dict[str, Any]]:
    require(who, "admin", "reading notification targets")
    rows = session.scalars(select(NotificationTarget).order_by(NotificationTarget.id))
    return [service.view(t) for t in rows]
