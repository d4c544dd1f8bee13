"""Signing in with an API token (a new server-side session each time) and out."""

from __future__ import annotations

import hmac
import logging
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from orchestrator import securitylog
from orchestrator.api.deps import SessionDep
from orchestrator.api.pages.common import (
    LOGIN_CSRF,
    SECURITY_HEADERS,
    FormDep,
    MeDep,
    form_of,
    new_login_csrf,
    page,
    secure,
)
from orchestrator.models import utcnow
from orchestrator.ui import sessions

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


_LOCAL_PATH = re.compile(r"/(?![/\\])[\x21-\x7e]*")


def _safe_next(target: str | None) -> str:
    """Only a path of this server, in printable ASCII: never `//host`, a full URL, or a path
    with a tab or newline a browser would drop to make one (no open redirect)."""
    if not target or not _LOCAL_PATH.fullmatch(target):
        return "/"
    return target


def _sign_in_page(
    request: Request, session: SessionDep, next_path: str, problem: str = "", status: int = 200
) -> HTMLResponse:
    token = new_login_csrf()
    response = page(
        session,
        None,
        "signin.html",
        status,
        title="Sign in",
        login_csrf=token,
        next=_safe_next(next_path),
        problem=problem,
    )
    response.set_cookie(
        LOGIN_CSRF, token, max_age=900, httponly=True, samesite="strict", secure=secure(request)
    )
    return response


@router.get("/signin")
def sign_in_form(request: Request, session: SessionDep, next: str = "/") -> HTMLResponse:
    return _sign_in_page(request, session, next)


@router.post("/signin")
async def sign_in(request: Request, session: SessionDep) -> Response:
    """The login form's CSRF token is a double-submit cookie (there is no session yet)."""
    fields = await form_of(request)
    expected = request.cookies.get(LOGIN_CSRF, "")
    sent = fields.get("csrf", "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        securitylog.refused(securitylog.FORBIDDEN, "sign-in form without its CSRF token")
        return _sign_in_page(
            request, session, fields.get("next", "/"), "The form expired; sign in again.", 403
        )
    found = sessions.sign_in(session, fields.get("token", ""))
    if found is None:
        session.rollback()
        securitylog.refused(securitylog.UNKNOWN_TOKEN, "sign-in with an unknown token")
        return _sign_in_page(
            request,
            session,
            fields.get("next", "/"),
            "Unknown token: it was never issued or has been revoked.",
            401,
        )
    session.commit()
    session_id, signed = found
    response = Response(
        status_code=303,
        headers={"Location": _safe_next(fields.get("next")), **SECURITY_HEADERS},
    )
    max_age = int((signed.expires_at - utcnow()).total_seconds())
    response.set_cookie(
        sessions.COOKIE,
        session_id,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF)
    return response


@router.post("/signout")
def sign_out(request: Request, session: SessionDep, me: MeDep, fields: FormDep) -> Response:
    sessions.sign_out(session, request.cookies.get(sessions.COOKIE), me.principal)
    session.commit()
    response = Response(status_code=303, headers={"Location": "/signin", **SECURITY_HEADERS})
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict")
    return response
