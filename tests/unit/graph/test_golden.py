"""Golden graphs: each folder of tests/data/graphs holds a repo/ tree and expected.json.

expected.json = {"graph": <stackrun graph JSON>, "changed": [...paths], "affected": {...}};
"changed"/"affected" are optional. STACKRUN_UPDATE_GOLDEN=1 rewrites the files (review the
diff before committing)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orchestrator.graph.affected import affected
from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.load import graph_of_directory

GRAPHS = Path(__file__).resolve().parents[2] / "data" / "graphs"
SCENARIOS = sorted(p for p in GRAPHS.iterdir() if (p / "repo").is_dir())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_graph_matches_the_golden_file(scenario: Path) -> None:
    expected_file = scenario / "expected.json"
    expected = json.loads(expected_file.read_text()) if expected_file.exists() else {}
    graph = graph_of_directory(scenario / "repo", MemoryCache())
    actual = {"graph": graph.to_json()}
    if "changed" in expected:
        actual["changed"] = expected["changed"]
        actual["affected"] = affected(graph, expected["changed"])
    if os.environ.get("STACKRUN_UPDATE_GOLDEN"):
        expected_file.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
        expected = actual
    assert actual == expected
    # `affected` lists stacks in run order (upstreams first): the order is part of the answer
    assert list(actual.get("affected", {})) == list(expected.get("affected", {}))


def test_there_are_golden_scenarios() -> None:
    assert len(SCENARIOS) >= 1
