"""A cold build parses on every core (graph/parallel.py): the same facts as one process, the
time budget honoured in each process, and a process that may not fork parses on its own."""

from __future__ import annotations

import time

import pytest

from orchestrator.graph import parallel
from orchestrator.graph.cache import MemoryCache, collect
from orchestrator.graph.limits import GraphLimits

BACKEND = 'terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "%s"\n  }\n}\n'


def _work(count: int) -> list[parallel.Work]:
    return [(f"s{n}/main.tf", f"key-{n}", (BACKEND % f"s{n}").encode()) for n in range(count)]


def test_forked_processes_give_the_facts_one_process_gives() -> None:
    work = _work(40)
    deadline = time.monotonic() + 60
    alone = parallel.parse_all(work, deadline, "budget", workers=1)
    shared = parallel.parse_all(work, deadline, "budget", workers=2)
    assert shared == alone
    assert alone[0]["key-7"]["backend"]["config"] == {"bucket": "b", "key": "s7"}


def test_a_spent_budget_leaves_every_file_unparsed_in_every_process() -> None:
    fresh, unparsed = parallel.parse_all(_work(10), time.monotonic() - 1, "over budget", 2)
    assert fresh == {}
    assert unparsed == {f"s{n}/main.tf": "over budget" for n in range(10)}


def test_little_text_or_other_threads_parse_here(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parallel.workers_for(1024) == 1
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 3)
    assert parallel.workers_for(100 * 1024 * 1024) == 1


def test_a_blob_at_two_paths_left_unparsed_is_an_error_at_both() -> None:
    text = (BACKEND % "x").encode()
    blobs = {"a/main.tf": "blob-1", "b/main.tf": "blob-1"}
    limits = GraphLimits(max_file_bytes=1 << 20, max_total_bytes=1 << 30, time_budget_seconds=0)
    found = collect(blobs, lambda ids: {i: text for i in ids}, MemoryCache(), {}, limits)
    assert set(found) == {"a/main.tf", "b/main.tf"}
    assert all(f["error"]["kind"] == "limit" for f in found.values())
