"""`stackrun runs …`: list, show, follow the log of, review and act on runs (over the API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from orchestrator.cli.common import (
    DEFAULT_URL,
    Client,
    Column,
    CommentOpt,
    JsonOpt,
    RunIdArg,
    TokenOpt,
    UrlOpt,
    listing,
    number,
    show,
)
from orchestrator.cli.follow import follow_log

runs_app = typer.Typer(help="Runs: list, show, logs, approve, reject, discard, retry, cancel, stop")


def _changes(run: dict[str, Any]) -> str:
    summary = run.get("plan_summary") or {}
    if not summary:
        return "-"
    return f"+{summary.get('add', 0)} ~{summary.get('change', 0)} -{summary.get('destroy', 0)}"


RUN_COLUMNS: list[Column] = [
    ("ID", lambda r: r["id"]),
    ("STATE", lambda r: r["state"]),
    ("KIND", lambda r: r["kind"]),
    ("STACK", lambda r: r["stack"]),
    ("PIPELINE", lambda r: r["pipeline"]),
    ("COMMIT", lambda r: r["commit"]["sha"][:10]),
    ("CHANGES", _changes),
    ("CREATED", lambda r: r["created_at"][:19].replace("T", " ")),
]


def run_id_of(value: str) -> int:
    return number(value, "a run", "stackrun runs list")


@runs_app.command("list")
def runs_list(
    stack: Annotated[str | None, typer.Option(help="only this stack's runs")] = None,
    state: Annotated[str | None, typer.Option(help="only runs in this state, e.g. FAILED")] = None,
    pipeline: Annotated[int | None, typer.Option(help="only this pipeline's runs")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 100,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """List runs, newest first."""
    params = {"stack": stack, "state": state, "pipeline": pipeline, "limit": limit}
    wanted = {k: v for k, v in params.items() if v is not None}
    runs = Client(url, token).call("GET", "/api/v1/runs", "listing runs", params=wanted)
    listing(runs, as_json, RUN_COLUMNS, "no runs")


@runs_app.command("show")
def runs_show(run_id: RunIdArg, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    """A run with its plan, history, policy evaluations, reviews and hand-offs (JSON)."""
    run = run_id_of(run_id)
    show(Client(url, token).call("GET", f"/api/v1/runs/{run}", f"reading run {run}"))


@runs_app.command("logs")
def runs_logs(
    run_id: RunIdArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing new lines until the run ends")
    ] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """A run's log (Terraform's output, secrets masked). A run that never ran (SKIPPED,
    DISCARDED, CANCELED) says why."""
    follow_log(Client(url, token), run_id_of(run_id), follow)


def _act(action: str, run_id: str, comment: str, url: str, token: str) -> None:
    run = run_id_of(run_id)
    body = {"comment": comment} if comment else None
    done = Client(url, token).call(
        "POST", f"/api/v1/runs/{run}/{action}", f"{action} run {run}", json=body
    )
    again = f" as run {done['id']}" if done["id"] != run else ""
    typer.echo(f"run {run}: {action} accepted{again}, now {done['state']}")


# The actions on a run that take a comment, and what each does (its help text).
REVIEWS = {
    "approve": "Approve an UNCONFIRMED run: it applies exactly the approved plan.",
    "reject": "Reject an UNCONFIRMED run (a review: approval policies see it).",
    "discard": "Discard an UNCONFIRMED run: its plan is never applied.",
    "cancel": "Cancel a QUEUED run before a worker takes it.",
    "stop": "Stop a run that is preparing, initializing or planning (Terraform gets Ctrl-C).",
}


def _action_command(action: str, help_text: str) -> Callable[..., None]:
    def command(
        run_id: RunIdArg, comment: CommentOpt = "", url: UrlOpt = DEFAULT_URL, token: TokenOpt = ""
    ) -> None:
        _act(action, run_id, comment, url, token)

    command.__doc__ = help_text
    command.__name__ = f"runs_{action}"
    return command


for _action, _help in REVIEWS.items():
    runs_app.command(_action)(_action_command(_action, _help))


@runs_app.command("retry")
def runs_retry(run_id: RunIdArg, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    """A new run of the same stack and commit as a FAILED, STOPPED, CANCELED or SKIPPED one."""
    _act("retry", run_id, "", url, token)
