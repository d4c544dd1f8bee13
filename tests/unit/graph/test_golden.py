"""Golden graphs: each folder of tests/data/graphs holds a repo/ tree and expected.json.

expected.json = {"graph": <stackrun graph JSON>, "changed": [...paths], "affected": {...}};
"changed"/"affected" are optional. STACKRUN_UPDATE_GOLDEN=1 rewrites the files (review the
diff before committing).

Every scenario is built twice: from the files on disk, and from a commit of them (the repo/
tree committed to a fresh git repository and read as `stackrun graph --rev HEAD` and a push
read it, links as git stores them: mode 120000 and the target as the blob). Both must give
the golden graph."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import git
import pytest

from orchestrator.graph.affected import affected
from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.load import graph_of_commit, graph_of_directory
from orchestrator.graph.model import Graph
from orchestrator.vcs.mirror import LINK_MODE, Mirror

GRAPHS = Path(__file__).resolve().parents[2] / "data" / "graphs"
SCENARIOS = sorted(p for p in GRAPHS.iterdir() if (p / "repo").is_dir())


def _outcome(graph: Graph, expected: dict[str, Any]) -> dict[str, Any]:
    actual: dict[str, Any] = {"graph": graph.to_json()}
    if "changed" in expected:
        actual["changed"] = expected["changed"]
        actual["affected"] = affected(graph, expected["changed"])
    return actual


def _expected(scenario: Path) -> dict[str, Any]:
    expected_file = scenario / "expected.json"
    return json.loads(expected_file.read_text()) if expected_file.exists() else {}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_graph_matches_the_golden_file(scenario: Path) -> None:
    expected = _expected(scenario)
    actual = _outcome(graph_of_directory(scenario / "repo", MemoryCache()), expected)
    if os.environ.get("STACKRUN_UPDATE_GOLDEN"):
        expected_file = scenario / "expected.json"
        expected_file.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
        expected = actual
    assert actual == expected
    # `affected` lists stacks in run order (upstreams first): the order is part of the answer
    assert list(actual.get("affected", {})) == list(expected.get("affected", {}))


def _committed(tree: Path, destination: Path) -> Mirror:
    """`tree` copied (links as links) into a new git repository and committed (`git add -f`:
    nothing is left out); the repository opened as the CLI opens one."""
    shutil.copytree(tree, destination, symlinks=True)
    repo = git.Repo.init(destination, initial_branch="main")
    repo.git.add("-A", "-f")
    repo.git.commit("-q", "-m", "scenario", "--author", "Golden <golden@example.com>")
    return Mirror(destination, "")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_graph_from_a_commit_matches_the_golden_file(scenario: Path, tmp_path: Path) -> None:
    expected = _expected(scenario)
    mirror = _committed(scenario / "repo", tmp_path / "repo")
    graph = graph_of_commit(mirror, mirror.resolve("HEAD"), MemoryCache())
    assert _outcome(graph, expected) == expected


def test_links_reach_the_commit_as_git_links(tmp_path: Path) -> None:
    """The commit harness really stores links as links (else it would prove nothing)."""
    mirror = _committed(GRAPHS / "links_inside_the_repository" / "repo", tmp_path / "repo")
    modes = {path: mode for path, (mode, _) in mirror.tree_entries("HEAD").items()}
    assert modes["app/terraform.tfvars"] == LINK_MODE


def test_there_are_golden_scenarios() -> None:
    assert len(SCENARIOS) >= 1
