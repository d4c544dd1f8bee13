"""Build a graph from a directory on disk or from a commit of a git repository."""

from __future__ import annotations

import gc
import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrator.graph.build import Graph, build
from orchestrator.graph.cache import FactsCache, MemoryCache, blob_id, collect
from orchestrator.graph.facts import file_kind
from orchestrator.vcs.mirror import Mirror

_SKIPPED_DIRS = {".git", ".terraform", ".stackrun", "node_modules"}
_PROCESS_CACHE = MemoryCache()


def process_cache() -> MemoryCache:
    """The facts cache shared by everything in this process."""
    return _PROCESS_CACHE


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """A graph build allocates many small objects and creates no garbage cycles; the cyclic
    collector would otherwise walk the whole facts cache several times per build."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def graph_of_directory(root: Path, cache: FactsCache | None = None) -> Graph:
    """The graph of the files on disk (no git needed)."""
    contents: dict[str, bytes] = {}
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        for name in files:
            full = Path(directory) / name
            relative = full.relative_to(root).as_posix()
            if file_kind(relative) is not None and full.is_file():
                contents[relative] = full.read_bytes()
    blobs = {path: blob_id(data) for path, data in contents.items()}
    by_blob = {blobs[path]: data for path, data in contents.items()}
    with _no_cycle_collection():
        facts = collect(blobs, lambda ids: {i: by_blob[i] for i in ids}, cache or process_cache())
        return build(facts)


_TREES: OrderedDict[tuple[str, str], dict[str, str]] = OrderedDict()
_TREES_KEPT = 8


def _tree(mirror: Mirror, sha: str) -> dict[str, str]:
    """{path: blob} at a commit; from a remembered parent plus `git diff-tree` when possible,
    since a push usually changes a few files of a large tree."""
    for parent in mirror.parents(sha)[:1]:
        known = _TREES.get((str(mirror.path), parent))
        if known is not None:
            blobs = dict(known)
            for path, blob in mirror.diff_tree(parent, sha).items():
                if blob is None:
                    blobs.pop(path, None)
                else:
                    blobs[path] = blob
            break
    else:
        blobs = mirror.tree_blobs(sha)
    _TREES[(str(mirror.path), sha)] = blobs
    while len(_TREES) > _TREES_KEPT:
        _TREES.popitem(last=False)
    return blobs


def graph_of_commit(mirror: Mirror, sha: str, cache: FactsCache | None = None) -> Graph:
    """The graph at a commit: the tree's blob ids, then only the blobs the cache lacks."""
    blobs = _tree(mirror, sha)
    with _no_cycle_collection():
        return build(collect(blobs, mirror.read_blobs, cache or process_cache()))
