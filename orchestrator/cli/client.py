"""Client verbs: repositories, stacks, runs and variables over the HTTP API."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.common import DEFAULT_URL, Client, TokenOpt, UrlOpt, show

repos_app = typer.Typer(help="Repositories (over the API)")
stacks_app = typer.Typer(help="Stacks (over the API)")
runs_app = typer.Typer(help="Runs (over the API)")
vars_app = typer.Typer(help="Variables of a stack or a context (over the API)")


@repos_app.command("add")
def repos_add(
    name: Annotated[str, typer.Option()],
    clone_url: Annotated[str, typer.Option()],
    webhook_secret_file: Annotated[
        Path | None, typer.Option(help="file holding the webhook secret")
    ] = None,
    branch: Annotated[str, typer.Option()] = "main",
    provider: Annotated[str, typer.Option()] = "github",
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Register a repository. The webhook secret comes from --webhook-secret-file,
    STACKRUN_WEBHOOK_SECRET or a prompt; never from the command line."""
    webhook_secret = _read_secret(webhook_secret_file)
    show(
        Client(url, token).call(
            "POST",
            "/api/v1/repositories",
            json={
                "name": name,
                "clone_url": clone_url,
                "branch": branch,
                "provider": provider,
                "webhook_secret": webhook_secret,
            },
        )
    )


def _read_secret(path: Path | None) -> str:
    if path is not None:
        return path.read_text().strip()
    from_env = os.environ.get("STACKRUN_WEBHOOK_SECRET")
    if from_env:
        return from_env
    return str(typer.prompt("webhook secret", hide_input=True))


@repos_app.command("report")
def repos_report(
    repository_id: Annotated[int, typer.Argument(help="the repository's id")],
    api_url: Annotated[
        str | None, typer.Option(help="VCS API base URL (GitHub Enterprise, GitLab)")
    ] = None,
    project: Annotated[str | None, typer.Option(help="owner/repo or GitLab project")] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Report proposed runs to the VCS. The VCS token comes from STACKRUN_VCS_TOKEN or a
    prompt; never from the command line."""
    vcs_token = os.environ.get("STACKRUN_VCS_TOKEN") or str(
        typer.prompt("vcs token", hide_input=True)
    )
    body: dict[str, str] = {"vcs_token": vcs_token}
    if api_url is not None:
        body["vcs_api_url"] = api_url
    if project is not None:
        body["vcs_project"] = project
    show(Client(url, token).call("PATCH", f"/api/v1/repositories/{repository_id}", json=body))


@repos_app.command("list")
def repos_list(url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    show(Client(url, token).call("GET", "/api/v1/repositories"))


@stacks_app.command("list")
def stacks_list(url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    show(Client(url, token).call("GET", "/api/v1/stacks"))


@runs_app.command("list")
def runs_list(
    stack: Annotated[str | None, typer.Option()] = None,
    state: Annotated[str | None, typer.Option()] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    params = {k: v for k, v in {"stack": stack, "state": state}.items() if v}
    runs = Client(url, token).call("GET", "/api/v1/runs", params=params)
    for run in runs:
        summary = run["plan_summary"] or {}
        typer.echo(
            f"{run['id']:>5}  {run['state']:<12} {run['kind']:<8} {run['stack']:<30} "
            f"{run['commit']['sha'][:10]}  +{summary.get('add', 0)} "
            f"~{summary.get('change', 0)} -{summary.get('destroy', 0)}"
        )


@runs_app.command("show")
def runs_show(run_id: int, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    show(Client(url, token).call("GET", f"/api/v1/runs/{run_id}"))


@runs_app.command("logs")
def runs_logs(run_id: int, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    show(Client(url, token).call("GET", f"/api/v1/runs/{run_id}/logs"))


def _review(action: str, run_id: int, comment: str, url: str, token: str) -> None:
    show(
        Client(url, token).call(
            "POST", f"/api/v1/runs/{run_id}/{action}", json={"comment": comment}
        )
    )


@runs_app.command("approve")
def runs_approve(
    run_id: int, comment: str = "", url: UrlOpt = DEFAULT_URL, token: TokenOpt = ""
) -> None:
    _review("approve", run_id, comment, url, token)


@runs_app.command("discard")
def runs_discard(
    run_id: int, comment: str = "", url: UrlOpt = DEFAULT_URL, token: TokenOpt = ""
) -> None:
    _review("discard", run_id, comment, url, token)


@runs_app.command("reject")
def runs_reject(
    run_id: int, comment: str = "", url: UrlOpt = DEFAULT_URL, token: TokenOpt = ""
) -> None:
    _review("reject", run_id, comment, url, token)


KindOpt = Annotated[str, typer.Option(help='"env" (NAME) or "terraform" (TF_VAR_name)')]


def _variables_path(target: str, context: bool) -> str:
    return (
        f"/api/v1/contexts/{target}/variables" if context else f"/api/v1/stacks/{target}/variables"
    )


@vars_app.command("set")
def vars_set(
    target: Annotated[str, typer.Argument(help="stack id (or context name with --context)")],
    name: str,
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


@vars_app.command("list")
def vars_list(
    target: Annotated[str, typer.Argument(help="stack id (or context name with --context)")],
    context: Annotated[bool, typer.Option(help="TARGET is a context name")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    for variable in Client(url, token).call("GET", _variables_path(target, context)):
        shown = (
            f"(secret, sha256 {variable['checksum'][:12]})"
            if variable["secret"]
            else variable["value"]
        )
        typer.echo(f"{variable['kind']:<10} {variable['name']:<30} {shown}")


@vars_app.command("unset")
def vars_unset(
    target: Annotated[str, typer.Argument(help="stack id (or context name with --context)")],
    name: str,
    kind: KindOpt = "env",
    context: Annotated[bool, typer.Option(help="TARGET is a context name")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    path = f"{_variables_path(target, context)}/{name}"
    Client(url, token).call("DELETE", path, params={"kind": kind})
    typer.echo(f"unset {kind} variable {name}")
