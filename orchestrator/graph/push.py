"""What a push affects: the diff base of DESIGN §3, the graph at the new commit, the reasons."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.graph.affected import affected
from orchestrator.graph.cache import FactsCache
from orchestrator.graph.load import graph_of_commit
from orchestrator.graph.model import Graph
from orchestrator.vcs.mirror import ZERO_SHA, Mirror


@dataclass(frozen=True)
class PushImpact:
    graph: Graph
    base: str | None
    base_reason: str
    reasons: dict[str, str]
    changed: tuple[str, ...] = ()


def diff_base(
    mirror: Mirror, before: str, after: str, tracked_head: str | None
) -> tuple[str | None, str]:
    """The commit to diff against, and why. None means every stack is new to us.

    The push's `before` when it is an ancestor of `after`; for a new branch or a force push,
    the merge-base with the tracked branch (or with `before` when the tracked branch itself
    was force-pushed)."""
    known = before != ZERO_SHA and mirror.has_commit(before)
    if known and mirror.is_ancestor(before, after):
        return before, "before"
    if tracked_head and tracked_head != after:
        base = mirror.merge_base(after, tracked_head)
        if base:
            return base, "merge-base with the tracked branch"
    if known:
        base = mirror.merge_base(before, after)
        if base:
            return base, "merge-base with before (force push)"
    return None, "no common history: every stack is affected"


def impact(
    mirror: Mirror,
    before: str,
    after: str,
    tracked_head: str | None,
    cache: FactsCache | None = None,
) -> PushImpact:
    graph = graph_of_commit(mirror, after, cache)
    base, why = diff_base(mirror, before, after, tracked_head)
    if base is None:
        reasons = {path: "new: no earlier commit to compare with" for path in sorted(graph.stacks)}
        return PushImpact(graph, None, why, reasons)
    changed = mirror.changed_paths(base, after) or []
    return PushImpact(graph, base, why, affected(graph, changed), tuple(changed))
