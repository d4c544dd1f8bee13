"""The UI's static files and Swagger UI served from this server, so `/docs` works on a
network that reaches no CDN."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[2] / "ui" / "static"
SWAGGER = Path(swagger_ui_bundle.swagger_ui_path)


def mount(app: FastAPI) -> None:
    """/ui/static (the UI's CSS, JS and vendored htmx), /docs/static (Swagger UI) and /docs."""
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.mount("/docs/static", StaticFiles(directory=SWAGGER), name="swagger-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )
