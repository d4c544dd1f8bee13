"""`stackrun stacks …` and `stackrun pipelines …` (over the API)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer

from orchestrator.cli.common import (
    DEFAULT_URL,
    Client,
    Column,
    JsonOpt,
    StackIdArg,
    TokenOpt,
    UrlOpt,
    listing,
    number,
    show,
)

stacks_app = typer.Typer(help="Stacks: list, show, start a run, unlock")
pipelines_app = typer.Typer(help="Pipelines: the runs of one push, in order, and their hand-off")

STACK_COLUMNS: list[Column] = [
    ("ID", lambda s: s["id"]),
    ("REPOSITORY", lambda s: s["repository_id"]),
    ("PATH", lambda s: s["path"]),
    ("AUTODEPLOY", lambda s: "yes" if s["autodeploy"] else "no"),
    ("LOCKED BY RUN", lambda s: s["locked_by_run"]),
    ("DRIFT", lambda s: s["drift_status"]),
    ("LABELS", lambda s: ",".join(s["labels"] or []) or None),
]


def _path(stack_id: str) -> str:
    return f"/api/v1/stacks/{quote(stack_id, safe='/@')}"


@stacks_app.command("list")
def stacks_list(as_json: JsonOpt = False, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    """List the stacks of every repository."""
    stacks = Client(url, token).call("GET", "/api/v1/stacks", "listing stacks")
    listing(stacks, as_json, STACK_COLUMNS, "no stacks (push, or `stackrun repos sync ID`)")


@stacks_app.command("show")
def stacks_show(stack_id: StackIdArg, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    """A stack as the API shows it (JSON)."""
    show(Client(url, token).call("GET", _path(stack_id), f"reading stack {stack_id}"))


@stacks_app.command("run")
def stacks_run(
    stack_id: StackIdArg,
    commit: Annotated[
        str | None,
        typer.Option(help="a commit of the tracked branch (default: its head as last fetched)"),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Start a tracked run of the stack by hand (approver)."""
    body = {"commit": commit} if commit else None
    done = Client(url, token).call(
        "POST", f"{_path(stack_id)}/runs", f"starting a run of stack {stack_id}", json=body
    )
    typer.echo(f"run {done['id']} of {stack_id} at {done['commit'][:12]}: {done['state']}")


@stacks_app.command("unlock")
def stacks_unlock(stack_id: StackIdArg, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    """Free a stack whose apply lost its worker, once you have checked its state (admin)."""
    done = Client(url, token).call(
        "POST", f"{_path(stack_id)}/unlock", f"unlocking stack {stack_id}"
    )
    held = done.get("unlocked_from_run")
    typer.echo(f"stack {stack_id} unlocked" + (f" (was held by run {held})" if held else ""))


def _runs(pipeline: dict[str, Any]) -> str:
    states: dict[str, int] = {}
    for run in pipeline["runs"]:
        states[run["state"]] = states.get(run["state"], 0) + 1
    return " ".join(f"{n} {state}" for state, n in sorted(states.items())) or "-"


def _handoff(pipeline: dict[str, Any]) -> str | None:
    handoffs = pipeline.get("handoffs") or []
    return handoffs[-1].get("status") if handoffs else None


PIPELINE_COLUMNS: list[Column] = [
    ("ID", lambda p: p["id"]),
    ("KIND", lambda p: p["kind"]),
    ("REPOSITORY", lambda p: p["repository_id"]),
    ("BRANCH", lambda p: p["branch"]),
    ("PR", lambda p: p["pr_number"]),
    ("COMMIT", lambda p: (p["commit_sha"] or "")[:10]),
    ("RUNS", _runs),
    ("HAND-OFF", _handoff),
    ("CREATED", lambda p: p["created_at"][:19].replace("T", " ")),
]


@pipelines_app.command("list")
def pipelines_list(
    ref: Annotated[str | None, typer.Option(help="only this branch's pipelines")] = None,
    pr: Annotated[int | None, typer.Option(help="only this pull/merge request's")] = None,
    repository: Annotated[int | None, typer.Option(help="only this repository's (id)")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """List pipelines, newest first."""
    params = {"ref": ref, "pr": pr, "repository": repository, "limit": limit}
    wanted = {k: v for k, v in params.items() if v is not None}
    found = Client(url, token).call("GET", "/api/v1/pipelines", "listing pipelines", params=wanted)
    listing(found, as_json, PIPELINE_COLUMNS, "no pipelines")


@pipelines_app.command("show")
def pipelines_show(
    pipeline_id: Annotated[str, typer.Argument(help="its id (`stackrun pipelines list`)")],
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """A pipeline: its runs, their order (edges) and its hand-off attempts (JSON)."""
    pipeline = number(pipeline_id, "a pipeline", "stackrun pipelines list")
    show(
        Client(url, token).call(
            "GET", f"/api/v1/pipelines/{pipeline}", f"reading pipeline {pipeline}"
        )
    )
