"""Server-Sent Events for live pages: a run's log and a pipeline's states. The role is
checked as the API checks it (a proposed run's log is for approvers unless its repository
opens it), before the stream starts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import StreamingResponse

from orchestrator import repos
from orchestrator.api.deps import Id, SessionDep, require
from orchestrator.api.pages.common import SECURITY_HEADERS, MeDep
from orchestrator.runs import queries
from orchestrator.ui import live

router = APIRouter(include_in_schema=False)
STREAM_HEADERS = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}


@router.get("/runs/{run_id}/log/stream")
def log_stream(
    run_id: Id,
    session: SessionDep,
    me: MeDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """From `offset` (the bytes the page already shows), or from where a reconnecting
    EventSource's Last-Event-ID says it got to."""
    run = queries.run(session, run_id)
    if run is None:
        raise HTTPException(404, f"run {run_id} does not exist")
    require(me.principal, repos.logs_role(session, run), f"reading the log of a {run.kind} run")
    session.close()
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        offset = int(last_event_id[:19])
    return StreamingResponse(
        live.log_events(run_id, offset), media_type="text/event-stream", headers=STREAM_HEADERS
    )


@router.get("/pipelines/{pipeline_id}/stream")
def pipeline_stream(pipeline_id: Id, session: SessionDep, me: MeDep) -> StreamingResponse:
    if queries.pipeline(session, pipeline_id) is None:
        raise HTTPException(404, f"pipeline {pipeline_id} does not exist")
    session.close()
    return StreamingResponse(
        live.pipeline_events(pipeline_id), media_type="text/event-stream", headers=STREAM_HEADERS
    )
