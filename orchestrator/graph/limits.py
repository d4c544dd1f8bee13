"""How much the graph reads for one build (DESIGN §3, "Limits"): a per-file and a per-commit
byte limit, decided from sizes alone before anything is read, and a time budget for parsing.
Pure, apart from the clock the budget reads."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.graph.facts import file_kind
from orchestrator.settings import Settings, get_settings

MIB = 1024 * 1024


@dataclass(frozen=True)
class GraphLimits:
    """STACKRUN_GRAPH_MAX_FILE_BYTES, STACKRUN_GRAPH_MAX_TOTAL_BYTES and
    STACKRUN_GRAPH_TIME_BUDGET_SECONDS (defaults in settings.py)."""

    max_file_bytes: int
    max_total_bytes: int
    time_budget_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> GraphLimits:
        return cls(
            settings.graph_max_file_bytes,
            settings.graph_max_total_bytes,
            settings.graph_time_budget_seconds,
        )


def configured() -> GraphLimits:
    """The limits this process was configured with."""
    return GraphLimits.from_settings(get_settings())


def _size(count: int) -> str:
    if count >= MIB:
        return f"{count / MIB:.1f} MiB ({count:,} bytes)"
    return f"{count:,} bytes"


def limit_error(path: str, message: str) -> dict[str, Any]:
    """The facts of a file the graph did not read or parse: an error of kind `limit`. Never
    cached: it says nothing about the file's content."""
    return {"error": {"file": path, "line": None, "message": message, "kind": "limit"}}


def over_limits(sizes: Mapping[str, int], limits: GraphLimits) -> dict[str, str]:
    """{path: why it is not read}. A file over the per-file limit is never read; the others
    count towards the per-commit limit in path order, and every file from the one that
    crosses it on is not read (the same files, whatever is cached)."""
    refused: dict[str, str] = {}
    total = 0
    # `*.tfvars` files count last: read only for an environment that names them, they must
    # never push a stack's own files over the limit
    for path in sorted(sizes, key=lambda p: (file_kind(p) == "var_file", p)):
        size = sizes[path]
        if size > limits.max_file_bytes:
            refused[path] = (
                f"not read: {_size(size)} is over the graph's per-file limit of "
                f"{_size(limits.max_file_bytes)} (STACKRUN_GRAPH_MAX_FILE_BYTES); make the file "
                "smaller or raise the limit"
            )
            continue
        total += size
        if total > limits.max_total_bytes:
            refused[path] = (
                "not read: the graph's files at this commit, in path order up to this one, "
                f"total more than the per-commit limit of {_size(limits.max_total_bytes)} "
                "(STACKRUN_GRAPH_MAX_TOTAL_BYTES); raise the limit or move files out"
            )
    return refused


class Budget:
    """The time left for parsing in one build."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def spent(self) -> bool:
        return time.monotonic() >= self.deadline

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def message(self) -> str:
        return (
            f"not parsed: parsing the graph's files took longer than its budget of "
            f"{self.seconds:g} s (STACKRUN_GRAPH_TIME_BUDGET_SECONDS); what was parsed is "
            "cached, so the next push goes on from here, or raise the budget"
        )
