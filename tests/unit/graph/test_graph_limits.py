"""Bounded graph reads (DESIGN §3, "Limits"): a per-file and a per-commit byte limit decided
from sizes before anything is read, and a parse time budget; a stack over a limit is blocked
with an error naming the file and the limit, the other stacks go on, nothing over a limit is
cached."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.graph import hcl
from orchestrator.graph.affected import affected
from orchestrator.graph.analysis import MAX_MODULE_INSTANCES
from orchestrator.graph.cache import MemoryCache, blob_id, cache_key, collect
from orchestrator.graph.limits import GraphLimits, over_limits
from orchestrator.graph.load import graph_of_directory
from orchestrator.settings import Settings

ROOMY = GraphLimits(max_file_bytes=10_000, max_total_bytes=100_000, time_budget_seconds=60)
BACKEND = 'terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "%s"\n  }\n}\n'


def _write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_a_file_over_the_per_file_limit_is_refused_and_the_rest_counted() -> None:
    limits = GraphLimits(max_file_bytes=100, max_total_bytes=250, time_budget_seconds=60)
    refused = over_limits({"a.tf": 100, "b.tf": 101, "c.tf": 100, "d.tf": 50, "e.tf": 1}, limits)
    assert set(refused) == {"b.tf", "e.tf"}
    assert "101 bytes is over the graph's per-file limit of 100 bytes" in refused["b.tf"]
    assert "STACKRUN_GRAPH_MAX_FILE_BYTES" in refused["b.tf"]
    assert "per-commit limit of 250 bytes (STACKRUN_GRAPH_MAX_TOTAL_BYTES)" in refused["e.tf"]


def test_the_settings_carry_the_limits() -> None:
    settings = Settings(
        graph_max_file_bytes=5, graph_max_total_bytes=6, graph_time_budget_seconds=7.5
    )
    assert GraphLimits.from_settings(settings) == GraphLimits(5, 6, 7.5)


def test_a_stack_with_a_file_over_the_limit_is_blocked_and_the_others_go_on(
    tmp_path: Path,
) -> None:
    repo = _write(
        tmp_path,
        {
            "big/main.tf": BACKEND % "big" + "# padding\n" * 2_000,
            "small/main.tf": BACKEND % "small",
            "user/main.tf": BACKEND % "user" + 'module "m" {\n  source = "../modules/huge"\n}\n',
            "modules/huge/main.tf": 'resource "a" "b" {}\n' + "# padding\n" * 2_000,
        },
    )
    graph = graph_of_directory(repo, MemoryCache(), ROOMY)
    assert graph.stacks["big"].blockers == [
        "big/main.tf: not read: 20,068 bytes is over the graph's per-file limit of 10,000 bytes "
        "(STACKRUN_GRAPH_MAX_FILE_BYTES); make the file smaller or raise the limit"
    ]
    assert graph.stacks["small"].blockers == []
    assert graph.stacks["user"].blockers[0].startswith("modules/huge/main.tf: not read: 20,020")
    kinds = {(e["kind"], e["file"]) for e in graph.errors}
    assert kinds == {("limit", "big/main.tf"), ("limit", "modules/huge/main.tf")}
    assert graph.to_json()["stacks"][0]["blocked"] == graph.stacks["big"].blockers
    reasons = affected(graph, ["small/main.tf"])
    assert reasons["small"] == "changed: small/main.tf"
    assert reasons["big"].startswith("blocked: big/main.tf: not read")


def test_a_folder_whose_only_terraform_is_unread_is_still_a_blocked_stack(
    tmp_path: Path,
) -> None:
    repo = _write(tmp_path, {"huge/main.tf": BACKEND % "huge" + "#\n" * 20_000})
    graph = graph_of_directory(repo, MemoryCache(), ROOMY)
    assert list(graph.stacks) == ["huge"]
    assert graph.stacks["huge"].blockers and graph.stacks["huge"].errors == []


def test_limit_errors_are_never_cached_and_clear_once_the_limit_allows(tmp_path: Path) -> None:
    content = BACKEND % "big" + "#\n" * 10_000
    repo = _write(tmp_path, {"big/main.tf": content})
    key = cache_key("big/main.tf", blob_id(content.encode()))
    cache = MemoryCache()
    assert graph_of_directory(repo, cache, ROOMY).stacks["big"].blockers
    assert cache.get_many([key]) == {}
    roomier = GraphLimits(max_file_bytes=10**6, max_total_bytes=10**6, time_budget_seconds=60)
    graph = graph_of_directory(repo, cache, roomier)
    assert cache.get_many([key]) != {}
    assert graph.stacks["big"].blockers == []
    assert graph.stacks["big"].backend_config["key"] == "big"


def test_files_left_when_the_time_budget_is_spent_are_not_parsed_nor_cached() -> None:
    spent = GraphLimits(max_file_bytes=10_000, max_total_bytes=100_000, time_budget_seconds=1e-9)
    text = (BACKEND % "a").encode()
    blobs = {"a/main.tf": "blob-a", "b/main.tf": "blob-b"}
    cache = MemoryCache()
    facts = collect(blobs, lambda ids: dict.fromkeys(ids, text), cache, {}, spent)
    for path in blobs:
        assert facts[path]["error"]["kind"] == "limit"
        assert "STACKRUN_GRAPH_TIME_BUDGET_SECONDS" in facts[path]["error"]["message"]
    assert cache.get_many([cache_key("a/main.tf", "blob-a")]) == {}
    parsed = collect(blobs, lambda ids: dict.fromkeys(ids, text), cache, {}, ROOMY)
    assert parsed["a/main.tf"]["backend"]["config"]["key"] == "a"
    assert cache.get_many([cache_key("a/main.tf", "blob-a")]) != {}


def test_a_parse_under_a_spent_budget_raises_instead_of_returning_an_error() -> None:
    """A budget that ran out says nothing about the text: it must never become a (cached)
    parse error."""
    with hcl.deadline(time.monotonic() - 1), pytest.raises(hcl.BudgetSpent):
        hcl.parse('module "m" {}\n', "main.tf")
    assert hcl.parse('module "m" {}\n', "main.tf") == {"module": [{"m": {}}]}


def test_the_per_commit_total_blocks_the_files_after_it_in_path_order(tmp_path: Path) -> None:
    files = {f"s{n}/main.tf": BACKEND % f"s{n}" + "#" * 400 + "\n" for n in range(5)}
    repo = _write(tmp_path, files)
    tight = GraphLimits(max_file_bytes=10_000, max_total_bytes=1_500, time_budget_seconds=60)
    graph = graph_of_directory(repo, MemoryCache(), tight)
    blocked = sorted(p for p, node in graph.stacks.items() if node.blockers)
    assert blocked == ["s3", "s4"]
    assert "STACKRUN_GRAPH_MAX_TOTAL_BYTES" in graph.stacks["s3"].blockers[0]


def test_a_module_tree_that_fans_out_past_the_limit_blocks_only_its_stack(
    tmp_path: Path,
) -> None:
    """Each level calls the next ten times: 10**5 module instances written in 60 lines."""
    files = {
        "fan/main.tf": BACKEND % "fan" + 'module "m" {\n  source = "../modules/m0"\n}\n',
        "calm/main.tf": BACKEND % "calm" + 'module "m" {\n  source = "../modules/m4"\n}\n',
    }
    for level in range(5):
        calls = "".join(f'module "c{n}" {{\n  source = "../m{level + 1}"\n}}\n' for n in range(10))
        files[f"modules/m{level}/main.tf"] = calls if level < 4 else 'resource "a" "b" {}\n'
    graph = graph_of_directory(_write(tmp_path, files), MemoryCache(), ROOMY)
    assert graph.stacks["fan"].blockers == [
        f"fan: its local module calls make more than {MAX_MODULE_INSTANCES} module instances; "
        "the graph stopped there"
    ]
    assert graph.stacks["calm"].blockers == []
