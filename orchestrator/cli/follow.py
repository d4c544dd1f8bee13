"""`stackrun runs logs [--follow]`: print a run's log, and with --follow every new line until
the run ends. The run's state is read before its log, so once an ended state has been read,
the log read after it is complete."""

from __future__ import annotations

import time
from typing import Any

import typer

from orchestrator.cli.common import Client, fail
from orchestrator.runstate import TERMINAL

POLL_SECONDS = 1.0


def why_no_log(run: dict[str, Any]) -> str:
    """Why a run has no log: the reason of the transition that ended it before it ran."""
    reasons = [t["reason"] for t in run.get("history", []) if t.get("reason")]
    reason = run.get("failure_reason") or (reasons[-1] if reasons else None)
    state = run["state"]
    if state not in TERMINAL:
        return f"run {run['id']} is {state} and has written no log yet"
    because = f": {reason}" if reason else ""
    return f"run {run['id']} ended {state} without running Terraform{because}"


def _read(client: Client, run_id: int, following: bool) -> tuple[dict[str, Any], str]:
    path = f"/api/v1/runs/{run_id}"
    run = client.find(path, f"reading run {run_id}")
    if run is None:
        gone = "no longer exists (deleted while following)" if following else "does not exist"
        fail(f"reading the log of run {run_id}: the run {gone}; `stackrun runs list` shows runs")
    text = client.call("GET", f"{path}/logs", f"reading the log of run {run_id}")
    return run, text if isinstance(text, str) else ""


def follow_log(client: Client, run_id: int, follow: bool) -> None:
    printed = 0
    following = False
    while True:
        run, text = _read(client, run_id, following)
        if len(text) > printed:
            typer.echo(text[printed:], nl=False)
            printed = len(text)
        if not follow or run["state"] in TERMINAL:
            break
        following = True
        time.sleep(POLL_SECONDS)
    if printed == 0:
        typer.echo(why_no_log(run))
    elif follow:
        typer.echo(f"\nrun {run_id} ended {run['state']}")
