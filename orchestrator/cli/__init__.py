"""The stackrun command: server verbs (server.py), client verbs over the HTTP API (client.py,
policy.py's upload) and offline verbs (offline.py, policy.py's evaluation)."""

from __future__ import annotations

import typer

from orchestrator.cli import client, offline, policy, server

app = typer.Typer(help="stackrun: Terraform run orchestrator", no_args_is_help=True)
app.add_typer(server.tokens_app, name="tokens")
app.add_typer(client.repos_app, name="repos")
app.add_typer(client.stacks_app, name="stacks")
app.add_typer(client.runs_app, name="runs")
app.add_typer(client.vars_app, name="vars")
app.add_typer(policy.policy_app, name="policy")
for command in (
    server.migrate,
    server.worker,
    server.beat,
    server.api,
    server.up,
    offline.graph,
    offline.affected,
):
    app.command()(command)


def main() -> None:
    app()
