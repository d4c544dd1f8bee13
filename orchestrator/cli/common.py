"""What the CLI's verbs share: options, errors, output, and the thin API client."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

UrlOpt = Annotated[str, typer.Option(envvar="STACKRUN_URL", help="API base URL")]
TokenOpt = Annotated[str, typer.Option(envvar="STACKRUN_TOKEN", help="API token")]
DEFAULT_URL = "http://127.0.0.1:8000"


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


class Client:
    """A thin client of the stackrun API for the CLI's client verbs."""

    def __init__(self, url: str, token: str) -> None:
        if not token:
            fail("no token: pass --token or set STACKRUN_TOKEN")
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"calling {method} {path}: {exc}")
            raise
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            fail(f"{method} {path}: {response.status_code} {detail}")
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text


def show(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2) if not isinstance(value, str) else value)
