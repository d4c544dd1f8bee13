"""`stackrun vars …`: variables of a stack or a context over the HTTP API."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from orchestrator.cli.common import (
    DEFAULT_URL,
    Client,
    Column,
    JsonOpt,
    TokenOpt,
    UrlOpt,
    listing,
    show,
)

vars_app = typer.Typer(help="Variables of a stack or a context: set, list, unset")


KindOpt = Annotated[str, typer.Option(help='"env" (NAME) or "terraform" (TF_VAR_name)')]


def _variables_path(target: str, context: bool) -> str:
    return (
        f"/api/v1/contexts/{target}/variables" if context else f"/api/v1/stacks/{target}/variables"
    )


@vars_app.command("set")
def vars_set(
    target: Annotated[str, typer.Argument(help="stack id (or context name with --context)")],
    name: Annotated[str, typer.Argument(help="the variable's name")],
    secret: Annotated[bool, typer.Option(help="write-only: the API shows its checksum")] = False,
    kind: KindOpt = "env",
    context: Annotated[bool, typer.Option(help="TARGET is a context name")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Set a variable. The value is read from stdin (or a hidden prompt), never from argv."""
    value = _read_value(name, secret)
    body = {"name": name, "value": value, "secret": secret, "kind": kind}
    show(Client(url, token).call("PUT", _variables_path(target, context), json=body))


def _read_value(name: str, secret: bool) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.read().rstrip("\n")
    return str(typer.prompt(f"value of {name}", hide_input=secret))


def _shown(variable: dict[str, Any]) -> str:
    if variable["secret"]:
        return f"(secret, sha256 {variable['checksum'][:12]})"
    return str(variable["value"])


VARIABLE_COLUMNS: list[Column] = [
    ("KIND", lambda v: v["kind"]),
    ("NAME", lambda v: v["name"]),
    ("VALUE", _shown),
]


@vars_app.command("list")
def vars_list(
    target: Annotated[str, typer.Argument(help="stack id (or context name with --context)")],
    context: Annotated[bool, typer.Option(help="TARGET is a context name")] = False,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """List the variables of a stack or a context (a secret shows its checksum only)."""
    found = Client(url, token).call(
        "GET", _variables_path(target, context), f"listing the variables of {target}"
    )
    listing(found, as_json, VARIABLE_COLUMNS, f"{target} has no variables")


@vars_app.command("unset")
def vars_unset(
    target: Annotated[str, typer.Argument(help="stack id (or context name with --context)")],
    name: Annotated[str, typer.Argument(help="the variable's name")],
    kind: KindOpt = "env",
    context: Annotated[bool, typer.Option(help="TARGET is a context name")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Remove a variable from a stack or a context."""
    path = f"{_variables_path(target, context)}/{name}"
    Client(url, token).call("DELETE", path, params={"kind": kind})
    typer.echo(f"unset {kind} variable {name}")
