"""What every page route shares: the signed-in browser (a server-side session), the CSRF
check of every form, and rendering a page with the navigation's data."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator import securitylog
from orchestrator.api.deps import SessionDep
from orchestrator.settings import get_settings
from orchestrator.ui import lists, render, sessions
from orchestrator.ui.sessions import SignedIn

LOGIN_CSRF = "stackrun_login_csrf"
MAX_FORM_BYTES = 64 * 1024
PAGE_PREFIXES = (
    "/signin",
    "/signout",
    "/stacks",
    "/stack-actions",
    "/runs",
    "/pipelines",
    "/repositories",
    "/policies",
    "/audit",
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """A page asked for without a live session: the browser goes to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def is_page(path: str) -> bool:
    return path == "/" or path.startswith(PAGE_PREFIXES)


def secure(request: Request) -> bool:
    """Cookies are Secure whenever the browser reached us over HTTPS (directly or through a
    proxy uvicorn trusts for X-Forwarded-Proto), or stackrun's public URL is an https one
    (a proxy terminating TLS that uvicorn does not trust)."""
    return request.url.scheme == "https" or get_settings().api_url.startswith("https://")


def signed_in(request: Request, session: SessionDep) -> SignedIn:
    found = sessions.current(session, request.cookies.get(sessions.COOKIE))
    if found is None:
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(wanted)
    return found


MeDep = Annotated[SignedIn, Depends(signed_in)]


async def form_of(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the last value of each), bounded in size."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, f"a form may be at most {MAX_FORM_BYTES} bytes")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in fields.items() if "\x00" not in v[-1]}


async def checked_form(request: Request, me: MeDep) -> dict[str, str]:
    """The form of a signed-in browser whose CSRF token matches its session's."""
    fields = await form_of(request)
    if not sessions.csrf_matches(me, fields.get("csrf")):
        reason = "the form's CSRF token is missing or wrong; reload the page and try again"
        securitylog.refused(securitylog.FORBIDDEN, reason, token=me.principal.name)
        raise HTTPException(403, reason)
    return fields


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def page(
    session: SessionDep, me: SignedIn | None, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    waiting = lists.waiting_count(session) if me is not None else 0
    body = render.page(template, me=me, waiting=waiting, **context)
    return HTMLResponse(body, status, headers=SECURITY_HEADERS)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def sign_in_redirect(exc: SignInRequired) -> Response:
    target = "/signin?next=" + quote(exc.next_path, safe="")
    return Response(status_code=303, headers={"Location": target, **SECURITY_HEADERS})


async def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return sign_in_redirect(exc)


def refused_page(request: Request, exc: StarletteHTTPException) -> Response:
    """An HTTP error on a page, as a page (the navigation needs no session data)."""
    body = render.page(
        "error.html",
        me=None,
        waiting=0,
        title=str(exc.status_code),
        status=exc.status_code,
        detail=str(exc.detail),
    )
    return HTMLResponse(body, exc.status_code, headers=SECURITY_HEADERS)
