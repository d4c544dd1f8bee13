"""Build a graph from a directory on disk or from a commit of a git repository."""

from __future__ import annotations

import os
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
    facts = collect(blobs, lambda ids: {i: by_blob[i] for i in ids}, cache or process_cache())
    return build(facts)


def graph_of_commit(mirror: Mirror, sha: str, cache: FactsCache | None = None) -> Graph:
    """The graph at a commit: one ls-tree, then only the blobs the cache does not know."""
    blobs = mirror.tree_blobs(sha)
    return build(collect(blobs, mirror.read_blobs, cache or process_cache()))
