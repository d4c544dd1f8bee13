"""`POST /api/v1/repositories/{id}/sync`: the stacks at the tracked branch's head, discovered
without running anything — so a stack's variables and secrets can be set before its first
run. The same stack upsert and graph snapshot as a push to the tracked branch."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.graph.load import graph_of_commit, process_cache
from orchestrator.graphstore import snapshot
from orchestrator.graphstore.cache import DatabaseCache
from orchestrator.models import Repository, Stack
from orchestrator.repos import mirror_for
from orchestrator.stacks.service import upsert_stacks
from orchestrator.vcs.mirror import VcsError

FETCH_SECONDS = 30.0
"""How long a sync waits for git: it runs inside an API request."""


@dataclass(frozen=True)
class Discovered:
    commit: str
    stacks: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class SyncRefused:
    status: int
    reason: str


def _live_ids(session: Session, repository: Repository) -> set[str]:
    query = select(Stack.id).where(Stack.repository_id == repository.id, Stack.deleted.is_(False))
    return set(session.scalars(query))


def sync(session: Session, repository: Repository) -> Discovered | SyncRefused:
    """Fetch the repository, read the graph at its branch head and make the stack table match
    it (vanished stacks are marked deleted, never destroyed). Starts no run."""
    mirror = mirror_for(repository)
    doing = f"syncing repository {repository.name} at branch {repository.branch}"
    try:
        mirror.refresh(timeout=FETCH_SECONDS)
        head = mirror.branch_head(repository.branch)
        if head is None:
            return SyncRefused(409, f"{doing}: the branch does not exist; push it first")
        graph = graph_of_commit(mirror, head, DatabaseCache(session, process_cache()))
    except VcsError as exc:
        return SyncRefused(502, f"{doing}: {exc}")
    before = _live_ids(session, repository)
    stacks = upsert_stacks(session, repository, graph)
    snapshot.save(session, repository, head, None, graph)
    after = _live_ids(session, repository)
    return Discovered(
        head,
        tuple(sorted(stack.id for stack in stacks.values())),
        tuple(sorted(after - before)),
        tuple(sorted(before - after)),
    )
