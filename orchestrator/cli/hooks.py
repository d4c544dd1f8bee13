"""`stackrun hooks …`: wire a plain bare git repository to stackrun with a post-receive hook
that delivers each push as GitHub would (signed)."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.common import DEFAULT_URL, UrlOpt, fail
from orchestrator.cli.secrets import read_webhook_secret
from orchestrator.webhooks import githook

hooks_app = typer.Typer(help="Git hooks: make a bare repository deliver its pushes to stackrun")


@hooks_app.command("install")
def hooks_install(
    bare: Annotated[Path, typer.Argument(help="the bare repository (a git server's copy)")],
    repository: Annotated[
        str, typer.Option(help="the name it is registered under (`stackrun repos list`)")
    ],
    clone_url: Annotated[
        str | None,
        typer.Option(help="the clone URL it is registered with (default: file://BARE)"),
    ] = None,
    webhook_secret_file: Annotated[
        Path | None, typer.Option(help="a file holding the repository's webhook secret")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Install a post-receive hook in BARE: each updated ref is delivered to stackrun at
    --url as a signed GitHub push. The webhook secret comes from --webhook-secret-file,
    STACKRUN_WEBHOOK_SECRET or a prompt (never the command line); it is kept in
    BARE/stackrun-hook.json, readable by its owner only."""
    resolved = bare.resolve()
    config = githook.HookConfig(
        url=url,
        repository=repository,
        clone_url=clone_url or f"file://{resolved}",
        secret=read_webhook_secret(webhook_secret_file),
    )
    try:
        hook = githook.install(resolved, config)
    except githook.HookError as exc:
        fail(str(exc))
    typer.echo(f"installed {hook}: pushes to {resolved} are delivered to {url} as {repository}")


@hooks_app.command("deliver")
def hooks_deliver(
    git_dir: Annotated[
        Path, typer.Option(help="the bare repository (the hook passes its own)")
    ] = Path("."),
) -> None:
    """What the installed hook runs: read `<old> <new> <ref>` lines on stdin and deliver each
    ref. Never fails the push: every outcome is printed for the pusher."""
    lines = sys.stdin.buffer.readlines()
    pusher = os.environ.get("GL_USERNAME") or os.environ.get("GITEA_PUSHER_NAME") or _user()
    try:
        said = githook.deliver_all(Path(os.environ.get("GIT_DIR", git_dir)), lines, pusher)
    except githook.HookError as exc:
        said = [str(exc)]
    for line in said:
        typer.echo(f"stackrun: {line}", err=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "git"
