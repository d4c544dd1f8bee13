"""The FastAPI application: thin routes over the services."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from orchestrator.api.routes import admin, health, repositories, runs, stacks, webhooks

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
        stacks.router,
        runs.router,
        admin.router,
    ):
        app.include_router(router)
    return app


app = create_app()
