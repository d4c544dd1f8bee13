"""Build a graph from a directory on disk or from a commit of a git repository: list the tree,
resolve its links, weigh its files against the limits, then read and parse what is needed."""

from __future__ import annotations

import functools
import gc
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrator.graph import carry
from orchestrator.graph import limits as graph_limits
from orchestrator.graph.build import build
from orchestrator.graph.cache import FactsCache, MemoryCache, blob_id, collect
from orchestrator.graph.facts import Facts, file_kind
from orchestrator.graph.limits import GraphLimits
from orchestrator.graph.model import Graph
from orchestrator.graph.tree import Tree
from orchestrator.vcs import links
from orchestrator.vcs.mirror import LINK_MODE, Entry, Mirror

_SKIPPED_DIRS = {".git", ".terraform", ".stackrun", "node_modules"}
_PROCESS_CACHE = MemoryCache()
_KEPT = 200_000


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


def _graph(
    files: Mapping[str, str],
    sizes: Mapping[str, int],
    resolved: links.Links,
    read: Callable[[list[str]], Mapping[str, bytes]],
    cache: FactsCache,
    limits: GraphLimits,
) -> tuple[Graph, Tree]:
    """`files` {path: blob id} and `sizes` {blob id: bytes} of the regular files, `resolved`
    the links. A link to a file inside the tree is read as that file; one that leaves the
    tree is never read and fails the stacks that contain or use it."""
    blobs = dict(files)
    blobs.update({link: files[end] for link, end in resolved.files.items()})
    by_path = {path: sizes.get(blob, 0) for path, blob in blobs.items()}
    with _no_cycle_collection():
        facts = collect(blobs, read, cache, by_path, limits)
        facts.update(_dangling(resolved))
        tree = Tree(facts, resolved)
        return build(facts, resolved, tree), tree


def _dangling(resolved: links.Links) -> dict[str, Facts]:
    """Graph files that are links to nothing: an error like a parse error (Terraform fails on
    them the same way), not a reason to stop the stack."""
    return {
        path: {
            "error": {
                "file": path,
                "line": None,
                "message": f"a link to {end}, which does not exist at this commit",
                "kind": "link",
            }
        }
        for path, end in resolved.dangling.items()
        if file_kind(path) not in (None, "var_file")
    }


def graph_of_directory(
    root: Path, cache: FactsCache | None = None, limits: GraphLimits | None = None
) -> Graph:
    """The graph of the files on disk (no git needed); links are handled as at a commit."""
    limits = limits or graph_limits.configured()
    paths: dict[str, Path] = {}
    link_targets: dict[str, str] = {}
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        for name in [*subdirs, *names]:
            full = Path(directory) / name
            relative = full.relative_to(root).as_posix()
            if full.is_symlink():
                link_targets[relative] = os.readlink(full)
            elif name in names and full.is_file():
                paths[relative] = full
    resolved = links.resolve(paths, link_targets)
    wanted = {p for p in paths if file_kind(p) is not None} | set(resolved.files.values())
    contents: dict[str, bytes] = {}
    sizes: dict[str, int] = {}
    files: dict[str, str] = {}
    for path in sorted(wanted):
        size = paths[path].stat().st_size
        blob = f"unread:{path}"
        if size <= limits.max_file_bytes:
            data = paths[path].read_bytes()
            blob = blob_id(data)
            contents[blob] = data
        files[path], sizes[blob] = blob, size
    graph, _ = _graph(
        files,
        sizes,
        resolved,
        lambda ids: {i: contents[i] for i in ids},
        cache or process_cache(),
        limits,
    )
    return graph


Changes = Mapping[str, Entry | None]
_TREES: OrderedDict[tuple[str, str], dict[str, Entry]] = OrderedDict()
_TREES_KEPT = 8
_SIZES: OrderedDict[str, int] = OrderedDict()
_LINK_TARGETS: OrderedDict[str, str] = OrderedDict()


def _tree(mirror: Mirror, sha: str) -> tuple[dict[str, Entry], str | None, Changes | None]:
    """{path: (mode, blob)} at a commit, and the parent it was worked out from with the
    changes since (None, None when it was listed whole): from a remembered parent plus `git
    diff-tree` when possible, since a push usually changes a few files of a large tree."""
    for parent in mirror.parents(sha)[:1]:
        known = _TREES.get((str(mirror.path), parent))
        if known is not None:
            entries = dict(known)
            changes = mirror.diff_tree(parent, sha)
            for path, entry in changes.items():
                if entry is None:
                    entries.pop(path, None)
                else:
                    entries[path] = entry
            break
    else:
        parent, changes = None, None
        entries = mirror.tree_entries(sha)
    _TREES[(str(mirror.path), sha)] = entries
    while len(_TREES) > _TREES_KEPT:
        _TREES.popitem(last=False)
    return entries, parent, changes


def _remembered(
    memo: OrderedDict[str, Any], keys: list[str], load: Callable[[list[str]], Mapping[str, Any]]
) -> dict[str, Any]:
    """Values that never change for a key (a blob's size, a link's target), loaded once."""
    missing = [k for k in keys if k not in memo]
    memo.update(load(missing) if missing else {})
    found = {k: memo[k] for k in keys if k in memo}
    while len(memo) > _KEPT:
        memo.popitem(last=False)
    return found


def graph_of_commit(
    mirror: Mirror, sha: str, cache: FactsCache | None = None, limits: GraphLimits | None = None
) -> Graph:
    """The graph at a commit: the tree's blob ids and sizes, then only the blobs the cache
    lacks; or, after a push, the parent commit's facts with the changed files looked at."""
    cache, limits = cache or process_cache(), limits or graph_limits.configured()
    entries, parent, changes = _tree(mirror, sha)
    known = carry.recalled((str(mirror.path), parent)) if parent else None
    sizes_of = functools.partial(_remembered, _SIZES, load=mirror.blob_sizes)
    collected = None
    if known is not None and changes is not None:
        collected = carry.carried(known, changes, sizes_of, mirror.read_blobs, cache, limits)
    if collected is None:
        return _graph_in_full(mirror, sha, entries, cache, limits)
    assert known is not None
    none = links.Links({}, {}, {}, {})
    with _no_cycle_collection():
        if known.tree is not None:
            collected.tree = Tree(collected.facts, none, known.tree, collected.changed)
        else:
            collected.tree = Tree(collected.facts, none)
        carry.remember((str(mirror.path), sha), collected)
        return build(collected.facts, none, collected.tree)


def _graph_in_full(
    mirror: Mirror, sha: str, entries: Mapping[str, Entry], cache: FactsCache, limits: GraphLimits
) -> Graph:
    files = {path: blob for path, (mode, blob) in entries.items() if mode != LINK_MODE}
    link_blobs = {path: blob for path, (mode, blob) in entries.items() if mode == LINK_MODE}
    targets = _remembered(
        _LINK_TARGETS,
        sorted(set(link_blobs.values())),
        lambda ids: {
            i: data.decode("utf-8", errors="surrogateescape")
            for i, data in mirror.read_blobs(ids).items()
        },
    )
    resolved = links.resolve(files, {p: targets.get(b, "") for p, b in link_blobs.items()})
    weighed = {b for p, b in files.items() if file_kind(p) is not None}
    weighed |= {files[end] for end in resolved.files.values()}
    sizes = _remembered(_SIZES, sorted(weighed), mirror.blob_sizes)
    graph, tree = _graph(files, sizes, resolved, mirror.read_blobs, cache, limits)
    if not link_blobs:
        by_path = {p: sizes.get(b, 0) for p, b in files.items() if file_kind(p) is not None}
        facts = dict(tree.facts)
        whole = carry.is_whole(facts)
        collected = carry.Collected(limits, facts, by_path, sum(by_path.values()), whole)
        collected.tree = tree
        carry.remember((str(mirror.path), sha), collected)
    return graph
