"""Secrets the CLI sends: read from a file, the environment or a hidden prompt; never argv."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def read_webhook_secret(path: Path | None) -> str:
    if path is not None:
        return path.read_text().strip()
    from_env = os.environ.get("STACKRUN_WEBHOOK_SECRET")
    if from_env:
        return from_env
    return str(typer.prompt("webhook secret", hide_input=True))
