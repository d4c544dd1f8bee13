"""POST /webhooks/{github|gitlab}: verify, dedupe, store, ring process_push, answer 202."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from orchestrator.db import get_sessionmaker
from orchestrator.runs.queue import ring
from orchestrator.settings import get_settings
from orchestrator.webhooks import intake

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


async def _body(request: Request) -> bytes | JSONResponse:
    limit = get_settings().max_webhook_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return JSONResponse({"detail": f"body of {declared} bytes exceeds {limit}"}, 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return JSONResponse({"detail": f"body exceeds {limit} bytes"}, 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _receive(
    receive: Callable[[Session, dict[str, str], bytes], intake.Outcome],
    headers: dict[str, str],
    body: bytes,
) -> JSONResponse:
    """Blocking part of a delivery (database, broker), run off the event loop."""
    session = get_sessionmaker()()
    try:
        outcome = receive(session, headers, body)
        if outcome.status < 300:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
    if outcome.event_id is not None:
        ring("process_push", outcome.event_id)
    return JSONResponse(outcome.body, outcome.status)


async def _deliver(
    request: Request, receive: Callable[[Session, dict[str, str], bytes], intake.Outcome]
) -> JSONResponse:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    headers = {k.lower(): v for k, v in request.headers.items()}
    return await run_in_threadpool(_receive, receive, headers, body)


@router.post("/github", status_code=202)
async def github_webhook(request: Request) -> JSONResponse:
    return await _deliver(request, intake.receive_github)


@router.post("/gitlab", status_code=202)
async def gitlab_webhook(request: Request) -> JSONResponse:
    return await _deliver(request, intake.receive_gitlab)
