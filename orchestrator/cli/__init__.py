"""The stackrun command: server verbs (server.py), client verbs over the HTTP API (runs,
stacks, repos, admin, client (vars), policy.py's upload), git hooks (hooks.py) and offline
verbs (offline.py, policy.py's evaluation)."""

from __future__ import annotations

import typer

from orchestrator.cli import admin, client, hooks, offline, policy, repos, runs, server, stacks

app = typer.Typer(help="stackrun: Terraform run orchestrator", no_args_is_help=True)
server.tokens_app.command("list")(admin.tokens_list)
server.tokens_app.command("revoke")(admin.tokens_revoke)
app.add_typer(server.tokens_app, name="tokens")
app.add_typer(repos.repos_app, name="repos")
app.add_typer(stacks.stacks_app, name="stacks")
app.add_typer(stacks.pipelines_app, name="pipelines")
app.add_typer(runs.runs_app, name="runs")
app.add_typer(client.vars_app, name="vars")
app.add_typer(policy.policy_app, name="policy")
app.add_typer(hooks.hooks_app, name="hooks")
for command in (
    admin.audit,
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
