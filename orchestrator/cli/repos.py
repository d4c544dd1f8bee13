"""`stackrun repos …`: register, list, sync and configure repositories (over the API)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.common import (
    DEFAULT_URL,
    Client,
    Column,
    JsonOpt,
    RepoIdArg,
    TokenOpt,
    UrlOpt,
    fail,
    listing,
    number,
    show,
    table,
)
from orchestrator.cli.secrets import read_webhook_secret

repos_app = typer.Typer(help="Repositories: add, list, sync stacks, rotate the webhook secret")

REPO_COLUMNS: list[Column] = [
    ("ID", lambda r: r["id"]),
    ("NAME", lambda r: r["name"]),
    ("BRANCH", lambda r: r["branch"]),
    ("PROVIDER", lambda r: r["provider"]),
    ("CLONE URL", lambda r: r["clone_url"]),
    ("REPORTING", lambda r: "on" if r["reporting"]["enabled"] else "off"),
]


def repo_id_of(value: str) -> int:
    return number(value, "a repository", "stackrun repos list")


@repos_app.command("add")
def repos_add(
    name: Annotated[str, typer.Option(help="owner/name, as the VCS's webhooks name it")],
    clone_url: Annotated[str, typer.Option(help="https://…, ssh://… or user@host:path")],
    webhook_secret_file: Annotated[
        Path | None, typer.Option(help="file holding the webhook secret")
    ] = None,
    branch: Annotated[str, typer.Option(help="the tracked branch: pushes to it apply")] = "main",
    provider: Annotated[str, typer.Option(help="github | gitlab")] = "github",
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Register a repository (admin). The webhook secret comes from --webhook-secret-file,
    STACKRUN_WEBHOOK_SECRET or a prompt; never from the command line."""
    body = {
        "name": name,
        "clone_url": clone_url,
        "branch": branch,
        "provider": provider,
        "webhook_secret": read_webhook_secret(webhook_secret_file),
    }
    client = Client(url, token)
    show(client.call("POST", "/api/v1/repositories", f"registering {name}", json=body))


@repos_app.command("report")
def repos_report(
    repository_id: RepoIdArg,
    api_url: Annotated[
        str | None, typer.Option(help="VCS API base URL (GitHub Enterprise, GitLab)")
    ] = None,
    project: Annotated[str | None, typer.Option(help="owner/repo or GitLab project")] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Report proposed runs to the VCS. The VCS token comes from STACKRUN_VCS_TOKEN or a
    prompt; never from the command line."""
    repository = repo_id_of(repository_id)
    vcs_token = os.environ.get("STACKRUN_VCS_TOKEN") or str(
        typer.prompt("vcs token", hide_input=True)
    )
    body: dict[str, str] = {"vcs_token": vcs_token}
    if api_url is not None:
        body["vcs_api_url"] = api_url
    if project is not None:
        body["vcs_project"] = project
    path = f"/api/v1/repositories/{repository}"
    show(Client(url, token).call("PATCH", path, f"configuring repository {repository}", json=body))


@repos_app.command("list")
def repos_list(as_json: JsonOpt = False, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    """List the registered repositories."""
    found = Client(url, token).call("GET", "/api/v1/repositories", "listing repositories")
    listing(found, as_json, REPO_COLUMNS, "no repositories (`stackrun repos add`)")


@repos_app.command("sync")
def repos_sync(
    repository_id: RepoIdArg,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Discover the stacks at the tracked branch's head without running anything (admin), so
    their variables can be set before the first run."""
    repository = repo_id_of(repository_id)
    found = Client(url, token).call(
        "POST",
        f"/api/v1/repositories/{repository}/sync",
        f"syncing the stacks of repository {repository}",
    )
    if as_json:
        show(found)
        return
    typer.echo(f"{found['repository']} at {found['commit'][:12]}: {len(found['stacks'])} stacks")
    added, removed = set(found["added"]), set(found["removed"])
    rows = [{"stack": s, "change": "new" if s in added else "-"} for s in found["stacks"]]
    rows += [{"stack": s, "change": "deleted"} for s in sorted(removed)]
    table(rows, [("STACK", lambda r: r["stack"]), ("CHANGE", lambda r: r["change"])], "")


@repos_app.command("secret")
def repos_secret(
    repository_id: RepoIdArg,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="make a new secret (the old one stops working)")
    ] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """The repository's webhook secret is never shown again once set: --rotate makes a new
    one and prints it once (admin, audited). Put it in the VCS's webhook, or reinstall the
    hook with `stackrun hooks install`."""
    if not rotate:
        fail("the webhook secret is stored encrypted and never shown: pass --rotate for a new one")
    repository = repo_id_of(repository_id)
    done = Client(url, token).call(
        "POST",
        f"/api/v1/repositories/{repository}/webhook-secret",
        f"rotating the webhook secret of repository {repository}",
    )
    typer.echo(done["webhook_secret"])
    typer.echo(
        f"new webhook secret of {done['repository']} (shown once; the old one is refused now)",
        err=True,
    )
