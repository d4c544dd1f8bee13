"""A browser on the UI in-process: signs in through the form, posts forms with the CSRF
token of the page it read."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def sign_in(client: TestClient, token: str) -> Response:
    form = client.get("/signin")
    return client.post(
        "/signin",
        data={"csrf": csrf_of(form), "token": token, "next": "/runs"},
        follow_redirects=False,
    )


def post_form(client: TestClient, page: str, action: str, **fields: str) -> Response:
    """POST `fields` to `action` with the CSRF token `page` carries."""
    token = csrf_of(client.get(page))
    return client.post(action, data={"csrf": token, **fields}, follow_redirects=False)
