"""The graph each repository's viewers see: the one computed by the last processed push of
its tracked branch, stored whole, so that reading it never parses anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.graph.model import Graph
from orchestrator.models import GraphSnapshot, Repository, utcnow


def save(
    session: Session, repository: Repository, sha: str, event_id: int | None, graph: Graph
) -> None:
    """Replace the repository's graph by the one just computed at `sha`."""
    snapshot = session.get(GraphSnapshot, repository.id)
    if snapshot is None:
        snapshot = GraphSnapshot(repository_id=repository.id)
        session.add(snapshot)
    snapshot.commit_sha = sha
    snapshot.event_id = event_id
    snapshot.graph = graph.to_json()
    snapshot.computed_at = utcnow()


@dataclass(frozen=True)
class NoGraphYet:
    """Refused as data: no push of the tracked branch has been processed."""

    reason: str


def view(session: Session, repository: Repository) -> dict[str, Any] | NoGraphYet:
    snapshot = session.get(GraphSnapshot, repository.id)
    if snapshot is None:
        return NoGraphYet(
            f"repository {repository.name!r} has no stack graph yet: no push to its tracked "
            f"branch {repository.branch!r} has been processed. Push to {repository.branch!r} "
            "(or redeliver its last push webhook) and ask again once the event is processed"
        )
    return {
        "repository": repository.name,
        "branch": repository.branch,
        "commit": snapshot.commit_sha,
        "event_id": snapshot.event_id,
        "computed_at": snapshot.computed_at.isoformat(),
        **snapshot.graph,
    }
