"""Parsing the files of a cold build on every core (DESIGN §11): the files not cached are
shared out among forked processes when there is enough text to pay for starting them. A
process that may not have children (a Celery pool process is a daemon) or that runs other
threads (a fork copies their locks, held or not) parses on its own."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from orchestrator.graph import hcl
from orchestrator.graph.facts import (
    Facts,
    ParsedBlock,
    extract,
    recording_blocks,
    remember_blocks,
)

log = logging.getLogger(__name__)

# Below this much text a second process costs more than it saves.
MIN_PARALLEL_BYTES = 2 * 1024 * 1024
_CHUNKS_PER_WORKER = 8

Work = tuple[str, str, bytes]  # (path, cache key, content)
Parsed = tuple[dict[str, Facts], dict[str, str]]  # ({key: facts}, {path: why not parsed})
# what a process parsed, and the blocks it parsed on the way (the parent keeps them)
Shared = tuple[dict[str, Facts], dict[str, str], list[tuple[str, ParsedBlock]]]


def workers_for(total_bytes: int) -> int:
    """How many processes should parse `total_bytes` of text: 1 means here, in this one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if total_bytes < MIN_PARALLEL_BYTES or (cores or 1) < 2:
        return 1
    if multiprocessing.current_process().daemon or threading.active_count() > 1:
        return 1  # no children allowed; or a fork could copy a lock another thread holds
    return min(cores or 1, 8)


def parse_all(work: list[Work], deadline: float, budget_message: str, workers: int) -> Parsed:
    """Facts of every file of `work` by cache key; the files the deadline left unparsed."""
    if workers <= 1:
        return parse_chunk(work, deadline, budget_message)
    chunks = _chunks(work, workers * _CHUNKS_PER_WORKER)
    try:
        context = multiprocessing.get_context("fork")  # the parser is built already
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = list(
                pool.map(
                    _parse_shared,
                    chunks,
                    [deadline] * len(chunks),
                    [budget_message] * len(chunks),
                )
            )
    except (BrokenProcessPool, OSError) as exc:
        log.warning("graph: parsing in %d processes failed (%s); parsing here", workers, exc)
        return parse_chunk(work, deadline, budget_message)
    for _, _, blocks in results:
        remember_blocks(blocks)
    return _merged((fresh, unparsed) for fresh, unparsed, _ in results)


def _parse_shared(work: list[Work], deadline: float, budget_message: str) -> Shared:
    """`parse_chunk` in a process of the pool, with the blocks it parsed."""
    with recording_blocks() as blocks:
        fresh, unparsed = parse_chunk(work, deadline, budget_message)
    return fresh, unparsed, blocks


def parse_chunk(work: list[Work], deadline: float, budget_message: str) -> Parsed:
    """Parse a share of the files, in order, until the deadline (`time.monotonic()`, which
    every process of the machine shares)."""
    fresh: dict[str, Facts] = {}
    unparsed: dict[str, str] = {}
    with hcl.deadline(deadline):
        for path, key, content in work:
            if key in fresh:
                continue
            if time.monotonic() >= deadline:
                unparsed[path] = budget_message
                continue
            try:
                fresh[key] = extract(path, content.decode("utf-8", errors="replace"))
            except hcl.BudgetSpent:
                unparsed[path] = budget_message
    return fresh, unparsed


def _chunks(work: list[Work], count: int) -> list[list[Work]]:
    """About `count` shares of similar size, each in path order."""
    total = sum(len(content) for _, _, content in work) or 1
    share = total / max(count, 1)
    chunks: list[list[Work]] = [[]]
    size = 0
    for item in work:
        if size >= share and chunks[-1]:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += len(item[2])
    return chunks


def _merged(results: Iterable[Parsed]) -> Parsed:
    fresh: dict[str, Facts] = {}
    unparsed: dict[str, str] = {}
    for chunk_fresh, chunk_unparsed in results:
        fresh.update(chunk_fresh)
        unparsed.update(chunk_unparsed)
    return fresh, unparsed
