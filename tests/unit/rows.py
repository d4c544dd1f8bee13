"""Rows that unit tests on the in-memory database start from."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orchestrator.models import Repository, Stack
from orchestrator.runs import service
from orchestrator.runstate import RunKind


def add_stack(db: Session, **fields: Any) -> Stack:
    """Repository acme/p and its stack acme/p/vpc, with any stack fields given."""
    if db.get(Repository, 1) is None:
        db.add(
            Repository(
                id=1,
                name="acme/p",
                clone_url="file:///x",
                branch="main",
                provider="github",
                webhook_secret_enc=b"x",
            )
        )
    stack = Stack(id="acme/p/vpc", repository_id=1, path="vpc", name="vpc", **fields)
    db.add(stack)
    db.flush()
    return stack


def queued_run(db: Session) -> int:
    """Stack acme/p/vpc (managed state) and a QUEUED tracked run of it: the run's id."""
    add_stack(db, managed_state=True)
    run = service.create_run(
        db, service.NewRun("acme/p/vpc", RunKind.TRACKED, "a" * 40, "main", "push:dev")
    )
    assert run is not None
    return run.id
