"""A group commit's kept line over stackrun's own database, with repository acme/p
registered (its webhook secret SECRET): what the batch tests store through, and the body of
a push to its tracked branch (BODY)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator import db as database
from orchestrator import repos
from orchestrator.webhooks import groupcommit

SECRET = "batch-secret-1"
BODY = json.dumps(
    {
        "ref": "refs/heads/main",
        "before": "a" * 40,
        "after": "b" * 40,
        "repository": {"full_name": "acme/p"},
    }
).encode()


@contextmanager
def kept_line() -> Iterator[groupcommit.Line]:
    """Needs the `own_database` fixture; the line is dropped afterwards."""
    with database.session_scope() as session:
        repos.register(
            session,
            name="acme/p",
            clone_url="https://git.example.com/acme/p.git",
            branch="main",
            provider="github",
            secret=SECRET,
        )
    line = groupcommit.Line()
    yield line
    line.drop()
