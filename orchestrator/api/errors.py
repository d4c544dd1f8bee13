"""One error shape for every refused request, and the OpenAPI document that says so.

Every 4xx and 5xx answer of the API is `{"detail": "<what was refused and what to try>",
"errors": [...]}`; `errors` lists each invalid field of a malformed request (`loc`, `msg`,
`type`) and is empty otherwise. Terraform's lock answers (423 with its lock info) are the one
exception: their shape is Terraform's http backend protocol."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    """One invalid part of a request: where (`["query", "limit"]`), what is wrong, its kind."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """What the API answers when it refuses a request."""

    detail: str
    errors: list[FieldError]


MEANINGS: Mapping[int, str] = {
    400: "The request body could not be read as JSON (not UTF-8, or cut short).",
    401: "No valid credential; `WWW-Authenticate` names the scheme to use.",
    403: "The credential is valid but may not do this; `detail` says which rule refuses it.",
    404: "What the path names does not exist.",
    409: "The resource's current state does not allow this; `detail` says what it is.",
    413: "The body is larger than the limit `detail` names.",
    422: "A parameter or field is invalid; `errors` lists each, `detail` sums them up.",
    500: "A stored value failed its integrity check; `detail` names it.",
    502: "The repository could not be read; `detail` says why.",
    503: "A service stackrun needs (database, broker, key service) does not answer.",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each status it can refuse with, in the one error shape."""
    return {status: {"model": ErrorBody, "description": MEANINGS[status]} for status in statuses}


def error_response(
    status: int,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(detail=detail, errors=list(errors))
    return JSONResponse(body.model_dump(), status, headers=dict(headers or {}))


def field_errors(raw: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """FastAPI's validation errors without their `input`: a request body may hold a secret."""
    return [
        FieldError(
            loc=[part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            msg=str(error.get("msg", "")),
            type=str(error.get("type", "")),
        )
        for error in raw
    ]


def summary(errors: Sequence[FieldError]) -> str:
    """`query.limit: Input should be less than or equal to 1000; body.name: Field required`."""
    parts = [f"{'.'.join(map(str, e.loc)) or 'request'}: {e.msg}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more


async def invalid_request(request: Request, exc: Exception) -> Response:
    """A 422 naming each invalid field and why, never echoing what was sent."""
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    return error_response(422, summary(errors), errors)


async def refused(request: Request, exc: Exception) -> Response:
    """Every HTTPException (ours, FastAPI's, Starlette's 404 and 405) in the one shape."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(exc.status_code, str(exc.detail), headers=headers)


async def internal_error(request: Request, exc: Exception) -> Response:
    """An unexpected failure: the shape stays, the traceback goes to the server log only. A
    database that does not answer is a 503 to retry, not a fault of the request."""
    if isinstance(exc, OperationalError):
        log.warning(
            "database unreachable serving %s %s: %s",
            request.method,
            request.url.path,
            type(exc.orig).__name__ if exc.orig is not None else "OperationalError",
        )
        return error_response(
            503,
            "the database does not answer; nothing was changed, try again shortly",
            headers={"Retry-After": "5"},
        )
    return error_response(
        500, f"internal error serving {request.method} {request.url.path}; see the server log"
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's);
    `app.state.api_routes` holds the application's routes (app.py)."""
    scope = {**request.scope, "method": ""}
    methods: set[str] = set()
    for route in request.app.state.api_routes:
        match, _child = route.matches(scope)
        if match != Match.NONE:
            methods.update(route.methods or ())
    return sorted(methods)


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with the truth about errors: its 422 in the one shape, and the 400
    that every route whose JSON body FastAPI parses answers to a body it cannot parse."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        routes: list[APIRoute] = app.state.api_routes
        parsed = {
            (route.path_format, method.lower())
            for route in routes
            if route.body_field is not None
            for method in route.methods or ()
        }
        for path, path_item in document.get("paths", {}).items():
            for method, operation in path_item.items():
                _declare_errors(operation, parses_body=(path, method) in parsed)
        schemas = document.get("components", {}).get("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = document
    return app.openapi_schema


def _declare_errors(operation: dict[str, Any], parses_body: bool) -> None:
    """An error is JSON whatever the route's own media type (FastAPI files `responses=`
    under the route's, e.g. text/plain for a log)."""
    answers = operation.setdefault("responses", {})
    shape = {"$ref": "#/components/schemas/ErrorBody"}
    error = {"application/json": {"schema": shape}}
    if "422" in answers:
        answers["422"] = {"description": MEANINGS[422], "content": error}
    if parses_body:
        answers.setdefault("400", {"description": MEANINGS[400], "content": error})
    for answer in answers.values():
        media = answer.get("content", {}).values()
        if any(m.get("schema") == shape for m in media):
            answer["content"] = error
