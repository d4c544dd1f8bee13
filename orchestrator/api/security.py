"""The API's two credentials, as FastAPI security schemes so the OpenAPI document names them:
an API token (`Authorization: Bearer srt_…`) and a run's own credential (HTTP Basic
`run-<id>:<credential>`, issued to one run's worker and Terraform for as long as it runs)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.security import HTTPBearer
from fastapi.security.http import HTTPBase

TOKEN = HTTPBearer(
    scheme_name="token",
    description="An API token (`stackrun tokens create`, `POST /api/v1/tokens`).",
    auto_error=False,
)


@dataclass(frozen=True)
class BasicCredential:
    username: str
    password: str = field(repr=False)


def basic_credential(authorization: str | None) -> BasicCredential | None:
    """`Basic base64(user:password)` as UTF-8; None for anything else or undecodable."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return BasicCredential(username, password)


class RunCredential(HTTPBase):
    """The Basic credential of a live run; parsed here, checked against the run by the route."""

    def __init__(self) -> None:
        super().__init__(
            scheme="basic",
            scheme_name="runCredential",
            description="A run's own credential: user `run-<id>`, issued to that run only.",
            auto_error=False,
        )

    async def __call__(self, request: Request) -> BasicCredential | None:  # type: ignore[override]
        return basic_credential(request.headers.get("authorization"))


RUN_CREDENTIAL = RunCredential()
