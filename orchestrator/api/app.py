"""The FastAPI application: thin routes over the services."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestrator import securitylog, subscribers
from orchestrator.api import errors
from orchestrator.api.pages import act, assets, browse, common, detail, signin, stream
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
        docs_url=None,
        redoc_url=None,
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
    app.router.routes.extend(webhooks.served)  # before every other route: the busiest path
    for router in routers:
        app.include_router(router)
    for page_router in (signin.router, browse.router, stream.router, detail.router, act.router):
        app.include_router(page_router)
    assets.mount(app)
    app.state.api_routes = [
        r for router in routers for r in router.routes if isinstance(r, APIRoute)
    ]
    app.add_middleware(_RememberCaller)
    app.exception_handler(RequestValidationError)(errors.invalid_request)
    app.exception_handler(StarletteHTTPException)(_refused)
    app.exception_handler(common.SignInRequired)(common.sign_in_required)
    app.exception_handler(Exception)(errors.internal_error)
    app.openapi = lambda: errors.openapi_document(app)  # type: ignore[method-assign]
    return app


async def _refused(request: Request, exc: Exception) -> Response:
    """A refusal on a page is a page; anywhere else the API's error shape."""
    if isinstance(exc, StarletteHTTPException) and common.is_page(request.url.path):
        return common.refused_page(request, exc)
    return await errors.refused(request, exc)


_CONTROL = re.compile(r"[\x01-\x1f\x7f]")


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
        if _CONTROL.search(path):  # no route matches one: refused as what it is, not a 404
            refusal = errors.error_response(
                422, "the path holds a control character (%00-%1F, %7F), which no id or name has"
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


app = create_app()
