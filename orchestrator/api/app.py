"""The FastAPI application: thin routes over the services."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestrator import securitylog, subscribers
from orchestrator.api import errors
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
    )
    for router in routers:
        app.include_router(router)
    app.state.api_routes = [
        r for router in routers for r in router.routes if isinstance(r, APIRoute)
    ]
    app.add_middleware(_RememberCaller)
    app.exception_handler(RequestValidationError)(errors.invalid_request)
    app.exception_handler(StarletteHTTPException)(errors.refused)
    app.exception_handler(Exception)(errors.internal_error)
    app.openapi = lambda: errors.openapi_document(app)  # type: ignore[method-assign]
    return app


class _RememberCaller:
    """Audit rows and security events written while serving this request record the caller's
    address and what it asked for. Plain ASGI (no task and no streams per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        path = scope.get("root_path", "") + scope["path"]
        SOURCE_IP.set(client[0] if client else None)
        securitylog.REQUEST.set(f"{scope['method']} {path}")
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            refusal = errors.error_response(
                422, "the path or query holds a NUL character (%00), which no id or name can have"
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


app = create_app()
