"""The ownership boundary (issue 22): findings of Argo CD applications managing what stacks
own, "who owns" questions, and an admin's request for a check now."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from orchestrator.api.deps import SessionDep, authorized
from orchestrator.api.errors import responses
from orchestrator.auth import Principal, audit
from orchestrator.boundary import queries
from orchestrator.runs.queue import ring

router = APIRouter(prefix="/api/v1/boundary", tags=["boundary"], responses=responses(401, 403))
Text = Annotated[str | None, Query(max_length=500)]


@router.get("")
def list_findings(
    session: SessionDep,
    who: Annotated[Principal, authorized("viewer", "reading boundary findings")],
    platform: Text = None,
    stack: Text = None,
    app: Text = None,
    status: Literal["open", "closed", "all"] = "open",
) -> dict[str, Any]:
    """Findings (open by default), filtered by platform (the hand-off's stack), stack or
    application, with the platform's latest checks."""
    found = queries.findings(
        session,
        platform=platform,
        stack=stack,
        app=app,
        status=None if status == "all" else status,
    )
    return {"findings": found, "checks": queries.checks(session, platform=platform)}


@router.get("/owners", responses=responses(422))
def who_owns(
    session: SessionDep,
    who: Annotated[Principal, authorized("viewer", "asking who owns a resource")],
    arn: Annotated[str | None, Query(max_length=1000)] = None,
    object: Annotated[str | None, Query(max_length=1000, description="Kind namespace/name")] = None,
) -> dict[str, Any]:
    """The stacks whose state holds an ARN or a Kubernetes object, and the applications found
    managing it."""
    asked = queries.question(arn, object)
    if asked.error is not None:
        raise HTTPException(422, asked.error)
    return queries.owners(session, asked)


@router.post("/check", status_code=202)
def check_now(
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "starting a boundary check")],
) -> dict[str, Any]:
    """Check every handed-off platform now (the beat task, rung outside its schedule)."""
    audit(session, who.name, "boundary.check", "boundary:*", {})
    session.commit()
    rung = ring("boundary_check")
    return {"queued": rung}
