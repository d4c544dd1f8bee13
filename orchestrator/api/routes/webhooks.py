"""POST /webhooks/{github|gitlab}: verify, dedupe, store, ring process_push, answer 202.

Served by plain Starlette routes (`served`, placed first by app.py): the route reads the raw
body and headers itself (the signature covers the exact bytes), so FastAPI's request handling
(dependency solving, exit stacks, response models) would only cost time on the busiest path.
The FastAPI declarations in `router` are what the OpenAPI document shows; they answer the
same way should a request reach them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from orchestrator.api.errors import error_response, responses
from orchestrator.metrics import count_delivery
from orchestrator.settings import get_settings
from orchestrator.webhooks import groupcommit

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


async def _body(request: Request) -> bytes | JSONResponse:
    limit = get_settings().max_webhook_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return error_response(413, f"body of {declared} bytes exceeds {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return error_response(413, f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _deliver(request: Request, provider: str) -> JSONResponse:
    """Verified and stored with the deliveries arriving meanwhile (one transaction), the
    doorbell rung; answered once the event is committed."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        count_delivery(provider, body.status_code, None)
        return body
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]
    }
    outcome = await groupcommit.submit(provider, headers, body)
    count_delivery(provider, outcome.status, str(outcome.body.get("status") or ""))
    if outcome.status >= 400:
        return error_response(outcome.status, str(outcome.body.get("detail", "")))
    return JSONResponse(outcome.body, outcome.status)


def _documented(*headers: tuple[str, str]) -> dict[str, Any]:
    """The raw body and the headers a delivery carries, for the OpenAPI document: the route
    reads them itself (the signature covers the exact bytes)."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": meaning,
            }
            for name, meaning in headers
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    }


DELIVERY_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A ping, a duplicate delivery, or an event that starts no work.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    **responses(401, 413, 422),
}


@router.post(
    "/github",
    status_code=202,
    responses=DELIVERY_ANSWERS,
    openapi_extra=_documented(
        ("X-Hub-Signature-256", "sha256=<HMAC of the body with the repository's secret>"),
        ("X-GitHub-Event", "push, pull_request or ping"),
        ("X-GitHub-Delivery", "the delivery's id (deduplicated)"),
    ),
)
async def github_webhook(request: Request) -> JSONResponse:
    return await _deliver(request, "github")


@router.post(
    "/gitlab",
    status_code=202,
    responses=DELIVERY_ANSWERS,
    openapi_extra=_documented(
        ("X-Gitlab-Token", "the repository's secret token"),
        ("X-Gitlab-Event", "Push Hook or Merge Request Hook"),
        ("X-Gitlab-Event-UUID", "the delivery's id (or Idempotency-Key; deduplicated)"),
    ),
)
async def gitlab_webhook(request: Request) -> JSONResponse:
    return await _deliver(request, "gitlab")


class _Served:
    """The plain ASGI endpoint of one provider's deliveries."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await _deliver(Request(scope, receive), self.provider)
        await response(scope, receive, send)


served = [
    Route("/webhooks/github", _Served("github"), methods=["POST"]),
    Route("/webhooks/gitlab", _Served("gitlab"), methods=["POST"]),
]
