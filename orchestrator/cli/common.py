"""What the CLI's verbs share: options, errors, output (tables with headers, or --json), and
the thin API client whose errors say what was being done and what to try."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, NoReturn

import httpx
import typer

UrlOpt = Annotated[
    str, typer.Option(envvar="STACKRUN_URL", help="stackrun's API base URL (STACKRUN_URL)")
]
TokenOpt = Annotated[
    str, typer.Option(envvar="STACKRUN_TOKEN", help="an API token (STACKRUN_TOKEN)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the API's JSON, for scripts")]
RunIdArg = Annotated[str, typer.Argument(help="the run's id (a number: `stackrun runs list`)")]
StackIdArg = Annotated[
    str, typer.Argument(help="the stack's id, e.g. acme/platform/network (`stackrun stacks list`)")
]
RepoIdArg = Annotated[
    str, typer.Argument(help="the repository's id (a number: `stackrun repos list`)")
]
CommentOpt = Annotated[str, typer.Option(help="a comment kept with the action")]
DEFAULT_URL = "http://127.0.0.1:8000"


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def number(value: str, what: str, listing: str) -> int:
    """An id given on the command line, or a clear error naming where ids are listed."""
    if value.isdecimal() and int(value) > 0:
        return int(value)
    fail(f"{what} id must be a positive number, not {value!r}: `{listing}` shows them")


class Client:
    """A thin client of the stackrun API for the CLI's client verbs."""

    def __init__(self, url: str, token: str) -> None:
        if not token:
            fail("no token: pass --token or set STACKRUN_TOKEN (`stackrun tokens create`)")
        self.url = url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def call(self, method: str, path: str, doing: str = "", **kwargs: Any) -> Any:
        """The answer's JSON (or text); any failure ends the command with what was being
        done (`doing`, else the request) and what to try."""
        return self._answer(self._send(method, path, doing, **kwargs), doing or path)

    def find(self, path: str, doing: str) -> Any:
        """GET `path`; None when it does not exist (404), else as `call`."""
        response = self._send("GET", path, doing)
        return None if response.status_code == 404 else self._answer(response, doing)

    def _send(self, method: str, path: str, doing: str, **kwargs: Any) -> httpx.Response:
        doing = doing or f"{method} {path}"
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            fail(
                f"{doing}: no stackrun at {self.url} ({_reason(exc)}): start one with "
                "`stackrun up`, or point STACKRUN_URL (--url) at yours"
            )
        except httpx.TimeoutException:
            fail(f"{doing}: stackrun at {self.url} did not answer within 30 s; try again")
        except httpx.HTTPError as exc:
            fail(f"{doing}: calling {self.url}: {exc}")

    @staticmethod
    def _answer(response: httpx.Response, doing: str) -> Any:
        if response.status_code >= 400:
            fail(f"{doing}: {response.status_code} {_detail(response)}{_hint(response)}")
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text


def _reason(exc: httpx.ConnectError) -> str:
    text = str(exc).lower()
    return "connection refused" if "refused" in text else str(exc) or "cannot connect"


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        detail = response.text
    return detail if isinstance(detail, str) else json.dumps(detail)


def _hint(response: httpx.Response) -> str:
    if response.status_code == 401:
        return " — check STACKRUN_TOKEN (`stackrun tokens create` makes one)"
    if response.status_code == 403:
        return " — this needs a token with a higher role"
    return ""


def show(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2) if not isinstance(value, str) else value)


Column = tuple[str, Callable[[dict[str, Any]], object]]


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], empty: str) -> None:
    """Rows under a header, columns as wide as their widest cell; `empty` when none."""
    if not rows:
        typer.echo(empty)
        return
    cells = [[_cell(get(row)) for _, get in columns] for row in rows]
    headers = [name for name, _ in columns]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    for line in [headers, *cells]:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return str(value).replace("\n", " ")


def listing(
    rows: Sequence[dict[str, Any]], as_json: bool, columns: Sequence[Column], empty: str
) -> None:
    """A list verb's output: a table with headers, or the API's JSON with --json."""
    if as_json:
        show(list(rows))
    else:
        table(rows, columns, empty)
