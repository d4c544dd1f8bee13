"""Admin verbs over the API: the audit trail, and tokens listed or revoked."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from orchestrator.cli.common import DEFAULT_URL, Client, Column, JsonOpt, TokenOpt, UrlOpt, listing

AUDIT_COLUMNS: list[Column] = [
    ("ID", lambda a: a["id"]),
    ("AT", lambda a: a["at"][:19].replace("T", " ")),
    ("ACTOR", lambda a: a["actor"]),
    ("ACTION", lambda a: a["action"]),
    ("TARGET", lambda a: a["target"]),
    ("SOURCE", lambda a: a["source_ip"]),
]
TOKEN_COLUMNS: list[Column] = [
    ("NAME", lambda t: t["name"]),
    ("ROLE", lambda t: t["role"]),
    ("VCS LOGIN", lambda t: t["vcs_login"]),
    ("CREATED", lambda t: t["created_at"][:19].replace("T", " ")),
    ("REVOKED", lambda t: t["revoked_at"] and t["revoked_at"][:19].replace("T", " ")),
]


def audit(
    actor: Annotated[str | None, typer.Option(help="only this actor's actions")] = None,
    action: Annotated[str | None, typer.Option(help="an action or its prefix, e.g. run.")] = None,
    target: Annotated[str | None, typer.Option(help="only this target, e.g. token:alice")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 200,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """The audit trail, newest first (admin)."""
    params = {"actor": actor, "action": action, "target": target, "limit": limit}
    wanted = {k: v for k, v in params.items() if v is not None}
    rows = Client(url, token).call("GET", "/api/v1/audit", "reading the audit trail", params=wanted)
    listing(rows, as_json, AUDIT_COLUMNS, "no audit entries")


def tokens_list(as_json: JsonOpt = False, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    """List tokens by name and role, live or revoked (admin, over the API)."""
    rows = Client(url, token).call("GET", "/api/v1/tokens", "listing tokens")
    listing(rows, as_json, TOKEN_COLUMNS, "no tokens")


def tokens_revoke(
    name: Annotated[str, typer.Argument(help="the token's name (`stackrun tokens list`)")],
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Revoke a token at once (admin, over the API)."""
    path = f"/api/v1/tokens/{quote(name, safe='')}/revoke"
    Client(url, token).call("POST", path, f"revoking token {name}")
    typer.echo(f"token {name} revoked")
