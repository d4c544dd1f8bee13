"""Whether a stack may run at a commit: what the graph there says blocks it (a link that leaves
the repository, a file over a limit, graph/blockers.py; a cycle through depends_on,
graph/edges.py). Asked by the worker before any Terraform, for every kind of run: a push's,
a retry's, a drift check's; for the first run of a push claimed with the push
(worker_api/claim.py), of the graph that push built at the same commit (`stack_in`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from orchestrator.graph.load import graph_of_commit, process_cache
from orchestrator.graph.model import Graph
from orchestrator.graphstore.cache import DatabaseCache
from orchestrator.vcs.mirror import Mirror


@dataclass(frozen=True)
class StackAtCommit:
    """What the graph at a run's commit says of its stack: what blocks it, and the files
    its environment gives Terraform (from that commit, not from the stack row: a proposal
    may change them, an older commit may not have them)."""

    blockers: list[str] = field(default_factory=list)
    backend_files: tuple[str, ...] = ()
    var_files: tuple[str, ...] = ()


def stack_at(session: Session, mirror: Mirror, sha: str, address: str) -> StackAtCommit:
    """The stack at `address` (its folder, or `folder@environment`) at commit `sha`; nothing
    blocks it when the graph there has no such stack (the checkout then says so)."""
    return stack_in(graph_of_commit(mirror, sha, DatabaseCache(session, process_cache())), address)


def stack_in(graph: Graph, address: str) -> StackAtCommit:
    """The stack at `address` in a graph already built at the run's commit (a push's)."""
    node = graph.stacks.get(address)
    if node is None:
        return StackAtCommit()
    return StackAtCommit(list(node.run_blockers), tuple(node.backend_files), tuple(node.var_files))


def blockers_at(session: Session, mirror: Mirror, sha: str, address: str) -> list[str]:
    """The reasons the stack at `address` cannot run at commit `sha`; none when it can."""
    return stack_at(session, mirror, sha, address).blockers
