"""Hand-off rows as the API, the pipeline page and the run page show them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import Handoff


def views(session: Session, pipeline_id: int) -> list[dict[str, Any]]:
    return views_of_many(session, [pipeline_id]).get(pipeline_id, [])


def views_of_many(session: Session, pipeline_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The hand-offs of each pipeline, oldest first, in one query (a page of pipelines)."""
    found: dict[int, list[dict[str, Any]]] = {}
    if not pipeline_ids:
        return found
    rows = session.scalars(
        select(Handoff)
        .where(Handoff.pipeline_id.in_(list(pipeline_ids)))
        .order_by(Handoff.pipeline_id, Handoff.id)
    )
    for row in rows:
        found.setdefault(row.pipeline_id, []).append(view(row))
    return found


def view(row: Handoff) -> dict[str, Any]:
    return {
        "id": row.id,
        "pipeline_id": row.pipeline_id,
        "run_id": row.run_id,
        "stack_id": row.stack_id,
        "status": row.status,
        "gitops_commit": row.gitops_commit,
        "argocd_app": row.argocd_app,
        "files": list(row.written_files or []),
        "message": row.message,
        "triggered_by": row.triggered_by,
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }
