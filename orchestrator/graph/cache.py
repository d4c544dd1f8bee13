"""Facts cached by git blob id, and collected for a tree: only the blobs not cached are parsed.
The cache shared by all workers is in the database (orchestrator/graphstore/cache.py)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Protocol

from orchestrator.graph import parallel
from orchestrator.graph.facts import FACTS_VERSION, Facts, file_kind
from orchestrator.graph.limits import Budget, GraphLimits, limit_error, over_limits


class FactsCache(Protocol):
    def get_many(self, keys: list[str]) -> dict[str, Facts]: ...

    def put_many(self, entries: Mapping[str, Facts]) -> None: ...


class MemoryCache:
    """A bounded LRU of facts."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, Facts] = OrderedDict()

    def get_many(self, keys: list[str]) -> dict[str, Facts]:
        found: dict[str, Facts] = {}
        for key in keys:
            if key in self._entries:
                self._entries.move_to_end(key)
                found[key] = self._entries[key]
        return found

    def put_many(self, entries: Mapping[str, Facts]) -> None:
        self._entries.update(entries)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


def blob_id(content: bytes) -> str:
    """Git's blob id of a content, so files read from disk share keys with commits."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def cache_key(path: str, blob: str) -> str:
    return f"v{FACTS_VERSION}:{file_kind(path)}:{blob}"


def collect(
    blobs: Mapping[str, str],
    read: Callable[[list[str]], Mapping[str, bytes]],
    cache: FactsCache,
    sizes: Mapping[str, int],
    limits: GraphLimits,
) -> dict[str, Facts]:
    """Facts of every graph-relevant path in {path: blob id}; parses only blobs not cached.

    `sizes` ({path: bytes}) decides before anything is read which files are over a byte limit;
    the time budget stops parsing, the files left get an error. Neither kind of error is
    cached: it says nothing about a file's content."""
    wanted = {path: blob for path, blob in sorted(blobs.items()) if file_kind(path) is not None}
    refused = over_limits({path: sizes.get(path, 0) for path in wanted}, limits)
    keys = {path: cache_key(path, blob) for path, blob in wanted.items() if path not in refused}
    cached = cache.get_many(sorted(set(keys.values())))
    missing = sorted({wanted[p] for p, k in keys.items() if k not in cached})
    contents = read(missing) if missing else {}
    fresh, unparsed = _parse_missing(keys, wanted, contents, cached, limits)
    cache.put_many(fresh)
    every = cached | fresh
    found = {path: _located(every[key], path) for path, key in keys.items() if key in every}
    found.update({path: limit_error(path, why) for path, why in (refused | unparsed).items()})
    return found


def _parse_missing(
    keys: Mapping[str, str],
    wanted: Mapping[str, str],
    contents: Mapping[str, bytes],
    cached: Mapping[str, Facts],
    limits: GraphLimits,
) -> tuple[dict[str, Facts], dict[str, str]]:
    """Facts of the files not cached, in path order, until the time budget is spent; on
    every core when there is enough to parse (graph/parallel.py)."""
    budget = Budget(limits.time_budget_seconds)
    work: list[parallel.Work] = []
    seen: set[str] = set()
    for path, key in keys.items():
        if key in cached or key in seen:
            continue
        seen.add(key)
        work.append((path, key, contents.get(wanted[path], b"")))
    workers = parallel.workers_for(sum(len(content) for _, _, content in work))
    fresh, unparsed = parallel.parse_all(work, budget.deadline, budget.message(), workers)
    for path, key in keys.items():  # a blob at two paths, left unparsed at the first
        if key not in cached and key not in fresh:
            unparsed.setdefault(path, budget.message())
    return fresh, unparsed


def _located(facts: Facts, path: str) -> Facts:
    """Errors are cached without a file name (one blob can live at many paths)."""
    if "error" not in facts:
        return facts
    return {**facts, "error": {**facts["error"], "file": path}}
