"""Outgoing webhooks (admin): where stackrun tells people about runs, drift and hand-offs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import Field

from orchestrator import repos
from orchestrator.api.deps import RequestBody, SessionDep, authorized
from orchestrator.api.errors import responses
from orchestrator.auth import Principal, audit
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
def create_target(
    body: TargetIn,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "adding a notification target")],
) -> dict[str, Any]:
    repository_id = None
    if body.repository is not None:
        repository = repos.named(session, body.repository)
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
def list_targets(
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "reading notification targets")],
) -> list[dict[str, Any]]:
    return [service.view(t) for t in service.targets(session)]
