"""Whether a stack may run at a commit: what the graph there says blocks it (a link that leaves
the repository, a file over a limit, graph/blockers.py; a cycle through depends_on,
graph/edges.py). Asked by the worker before any Terraform, for every kind of run: a push's,
a retry's, a drift check's."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orchestrator.graph.load import graph_of_commit, process_cache
from orchestrator.graphstore.cache import DatabaseCache
from orchestrator.vcs.mirror import Mirror


def blockers_at(session: Session, mirror: Mirror, sha: str, address: str) -> list[str]:
    """The reasons the stack at `address` (its folder, or `folder@environment`) cannot run at
    commit `sha`; none when it can (or when the graph there has no such stack: the checkout
    then says so)."""
    graph = graph_of_commit(mirror, sha, DatabaseCache(session, process_cache()))
    node = graph.stacks.get(address)
    return node.run_blockers if node is not None else []
