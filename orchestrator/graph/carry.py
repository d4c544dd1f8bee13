"""Facts of a commit carried over from its parent's (DESIGN §3, "Speed"): a push usually changes
a few files of a large tree, so the facts of the parent commit are taken as they were and only
the changed files are looked at. Taken only when the answer is certainly the one a full
collection gives: no links in either tree (they resolve against the whole tree), the same
limits, nothing refused or left unparsed at the parent, and the commit within every limit."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from orchestrator.graph.cache import FactsCache, collect
from orchestrator.graph.facts import Facts, file_kind
from orchestrator.graph.limits import GraphLimits
from orchestrator.graph.tree import Tree
from orchestrator.vcs.mirror import LINK_MODE, Entry


@dataclass
class Collected:
    """The facts of one commit's graph files, with the sizes they were weighed by, and the
    tree its build indexed them in."""

    limits: GraphLimits
    facts: dict[str, Facts]
    sizes: dict[str, int]  # {path: bytes} of every graph file
    total: int
    whole: bool  # no link in the tree, no file refused or left unparsed
    changed: tuple[str, ...] = ()  # the graph files that differ from the parent's
    tree: Tree | None = None


_KEPT = 8
_COLLECTED: OrderedDict[tuple[str, str], Collected] = OrderedDict()


def remember(key: tuple[str, str], collected: Collected) -> None:
    """`key` is (repository path, commit)."""
    _COLLECTED[key] = collected
    _COLLECTED.move_to_end(key)
    while len(_COLLECTED) > _KEPT:
        _COLLECTED.popitem(last=False)


def recalled(key: tuple[str, str]) -> Collected | None:
    return _COLLECTED.get(key)


def forget() -> None:
    _COLLECTED.clear()


def is_whole(facts: Mapping[str, Facts]) -> bool:
    """No file was refused by a limit or left unparsed by the time budget."""
    return not any(
        f.get("error", {}).get("kind") == "limit" for f in facts.values() if "error" in f
    )


def carried(
    parent: Collected,
    changes: Mapping[str, Entry | None],
    blob_sizes: Callable[[list[str]], Mapping[str, int]],
    read: Callable[[list[str]], Mapping[str, bytes]],
    cache: FactsCache,
    limits: GraphLimits,
) -> Collected | None:
    """The child's facts from `parent`'s and the `changes` between them ({path: new entry, or
    None when deleted}), or None when only a full collection can tell."""
    if not parent.whole or parent.limits != limits:
        return None
    if any(entry is not None and entry[0] == LINK_MODE for entry in changes.values()):
        return None
    graph_changes = {p: e for p, e in changes.items() if file_kind(p) is not None}
    changed = {p: e[1] for p, e in graph_changes.items() if e is not None}
    known = blob_sizes(sorted(set(changed.values())))
    sizes = dict(parent.sizes)
    total = parent.total
    for path in graph_changes:
        total -= sizes.pop(path, 0)
    for path, blob in changed.items():
        sizes[path] = known.get(blob, 0)
        total += sizes[path]
        if sizes[path] > limits.max_file_bytes:
            return None
    if total > limits.max_total_bytes:
        return None
    fresh = collect(changed, read, cache, {p: sizes[p] for p in changed}, limits)
    facts = dict(parent.facts)
    for path in graph_changes:
        facts.pop(path, None)
    facts.update(fresh)
    return Collected(limits, facts, sizes, total, is_whole(fresh), tuple(graph_changes))
