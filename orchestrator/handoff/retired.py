"""What an earlier hand-off of a stack wrote to the same GitOps repository and branch: the
files the next one removes when it no longer writes them (a renamed cluster's folder). Only
files stackrun recorded as its own are ever removed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import Handoff


def previously_written(session: Session, row: Handoff) -> tuple[str, ...]:
    """The files of the stack's last hand-off before `row` that published to the same
    repository and branch."""
    earlier = session.scalars(
        select(Handoff)
        .where(Handoff.stack_id == row.stack_id, Handoff.id < row.id)
        .order_by(Handoff.id.desc())
    )
    for previous in earlier:
        if not previous.written_files:
            continue
        same = (previous.spec or {}).get("repository") == (row.spec or {}).get("repository")
        if same and (previous.spec or {}).get("branch") == (row.spec or {}).get("branch"):
            return tuple(previous.written_files or ())
    return ()
