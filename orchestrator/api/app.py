"""The FastAPI application: thin routes over the services."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator import securitylog, subscribers
from orchestrator.api import errors
from orchestrator.api.routes import (
    admin,
    boundary,
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
    subscribers.install()
    app = FastAPI(
        title="stackrun",
        version="0.1.0",
        description="Self-hosted Terraform run orchestrator",
        docs_url="/docs",
    )
    routers = (
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
        boundary.router,
    )
    for router in routers:
        app.include_router(router)
    app.state.api_routes = [
        r for router in routers for r in router.routes if isinstance(r, APIRoute)
    ]
    app.middleware("http")(_remember_caller)
    app.exception_handler(RequestValidationError)(errors.invalid_request)
    app.exception_handler(StarletteHTTPException)(errors.refused)
    app.exception_handler(Exception)(errors.internal_error)
    app.openapi = lambda: errors.openapi_document(app)  # type: ignore[method-assign]
    return app


async def _remember_caller(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Audit rows and security events written while serving this request record the caller's
    address and what it asked for."""
    SOURCE_IP.set(request.client.host if request.client else None)
    securitylog.REQUEST.set(f"{request.method} {request.url.path}")
    if "\x00" in request.url.path or "%00" in request.url.query:
        return errors.error_response(
            422, "the path or query holds a NUL character (%00), which no id or name can have"
        )
    return await call_next(request)


app = create_app()
