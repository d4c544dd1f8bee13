"""Rows that unit tests on the in-memory database start from."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orchestrator.models import Repository, Stack


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
