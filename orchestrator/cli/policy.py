"""Policy verbs: evaluate a policy offline, upload a folder of policies over the API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.common import DEFAULT_URL, Client, TokenOpt, UrlOpt, fail, show
from orchestrator.policy.inputs import PlannedRun, RunFacts, run_facts

policy_app = typer.Typer(help="Rego policies: offline evaluation, upload of a folder")


@policy_app.command("eval")
def policy_eval(
    policy: Annotated[Path, typer.Argument(help="a .rego file")],
    input_file: Annotated[Path, typer.Option("--input", help="the input document (JSON)")],
    kind: Annotated[str, typer.Option("--type", help="plan | approval | trigger")] = "plan",
) -> None:
    """Evaluate a policy offline. Exit 0 allowed, 1 denied/rejected, 2 unusable policy or input.

    For `--type plan`, a bare `terraform show -json` document is wrapped as `input.terraform`."""
    from orchestrator.policy import decide, engine, inputs

    if kind not in ("plan", "approval", "trigger"):
        typer.echo("error: --type must be plan, approval or trigger", err=True)
        raise typer.Exit(2)
    try:
        body = policy.read_text()
        document = json.loads(input_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"error: reading {policy} and {input_file}: {exc}", err=True)
        raise typer.Exit(2) from None
    if kind == "plan" and isinstance(document, dict) and "resource_changes" in document:
        document = inputs.plan_input(_offline_facts(), document)
    outcome = engine.evaluate([engine.PolicySource(policy.stem, body)], document)[0]
    if isinstance(outcome, engine.PolicyError):
        typer.echo(f"error: {outcome}", err=True)
        raise typer.Exit(2)
    attached = [decide.Attached(policy.stem, 1, kind)]
    if kind == "plan":
        verdict = decide.plan_verdict(attached, [outcome])
    elif kind == "approval":
        verdict = decide.approval_verdict(attached, [outcome], [])
    else:
        verdict = decide.trigger_verdict(attached, [outcome])
    show({"decision": verdict.decision, "messages": list(verdict.messages), "rules": outcome.rules})
    raise typer.Exit(1 if verdict.decision in ("deny", "reject") else 0)


@dataclass(frozen=True)
class _OfflineStack:
    """The placeholder stack of a bare plan evaluated offline."""

    id: str = "offline"
    name: str = "offline"
    path: str = "."
    labels: tuple[str, ...] = ()
    autodeploy: bool = False
    worker_pool: str = "default"
    environment: str | None = None


def _offline_facts() -> RunFacts:
    """Placeholder run and stack facts for a bare plan evaluated offline."""
    run = PlannedRun(
        kind="TRACKED",
        state="PLANNING",
        commit_sha="0" * 40,
        commit_author="",
        commit_message="",
        branch="main",
        triggered_by="offline",
    )
    return run_facts(run, _OfflineStack(), "offline")


@policy_app.command("sync")
def policy_sync(
    folder: Annotated[Path, typer.Argument(help="a folder of .rego files")],
    labels: Annotated[list[str] | None, typer.Option("--label", help="attach_labels")] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Upload every .rego file: created when new, a new version when changed. The type comes
    from a `# type:` header or the file name (`plan-*.rego`, `*.approval.rego`, …)."""
    from orchestrator.policy.store import TYPES, type_from_header

    client = Client(url, token)
    existing = {p["name"]: p for p in client.call("GET", "/api/v1/policies")["policies"]}
    for path in sorted(folder.glob("*.rego")):
        body = path.read_text()
        kind = type_from_header(body) or next((t for t in TYPES if t in path.stem), None)
        if kind is None:
            fail(f"{path}: no `# type:` header and no type in the file name")
        payload = {"type": kind, "body": body, "attach_labels": labels or []}
        name = path.stem
        if name not in existing:
            client.call("POST", "/api/v1/policies", json={"name": name, **payload})
            typer.echo(f"created {name} ({kind})")
        elif existing[name]["body"] != body:
            client.call("PUT", f"/api/v1/policies/{name}", json=payload)
            typer.echo(f"updated {name} ({kind})")
        else:
            typer.echo(f"unchanged {name}")
