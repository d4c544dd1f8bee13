"""The FastAPI application: thin routes over the services."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from orchestrator.api.routes import (
    admin,
    health,
    notifications,
    policies,
    repositories,
    runner,
    runs,
    stacks,
    variables,
    webhooks,
)
from orchestrator.auth import SOURCE_IP

log = logging.getLogger(__name__)


def create_app() -> FastAPI:
    app = FastAPI(
        title="stackrun",
        version="0.1.0",
        description="Self-hosted Terraform run orchestrator",
        docs_url="/docs",
    )
    for router in (
        health.router,
        webhooks.router,
        repositories.router,
        variables.router,
        stacks.router,
        runs.router,
        runner.router,
        admin.router,
        policies.router,
        notifications.router,
    ):
        app.include_router(router)
    app.middleware("http")(_remember_source_ip)
    app.exception_handler(RequestValidationError)(_invalid_request)
    return app


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A 422 that says which field is wrong and why, without echoing what was sent: a
    request body may hold a secret value."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _remember_source_ip(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Audit rows written while serving this request record the caller's address."""
    SOURCE_IP.set(request.client.host if request.client else None)
    return await call_next(request)


app = create_app()
