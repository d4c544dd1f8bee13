"""Standing conflicts are findings, not failures (DESIGN §3): two stacks writing one state and
cycles are reported and the rest of the graph is built; a cycle of data edges orders nothing
between its members; `affected` cites Terraform files first and lists stacks in run order;
dot and mermaid draw one edge per pair of stacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.graph.affected import affected
from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.cycles import strongly_connected
from orchestrator.graph.load import graph_of_directory
from orchestrator.graph.model import Edge, Graph, StackNode
from orchestrator.graph.render import render

GRAPHS = Path(__file__).resolve().parents[2] / "data" / "graphs"


def _scenario(name: str) -> Graph:
    return graph_of_directory(GRAPHS / name / "repo", MemoryCache())


def _committed(tmp_path: Path, scenario: str) -> Path:
    repo = tmp_path / scenario
    shutil.copytree(GRAPHS / scenario / "repo", repo)
    checkout = git.Repo.init(repo)
    checkout.git.add(A=True)
    checkout.git.commit(m="scenario", author="t <t@example.com>")
    return repo


def test_a_stack_reached_only_through_a_finished_one_is_in_its_cycle() -> None:
    # a → b → a is found first; c (a → c → b) closes a loop only through b, already walked.
    edges = [("a", "b"), ("b", "a"), ("a", "c"), ("c", "b"), ("d", "a")]
    groups = strongly_connected(edges)
    assert groups == {name: frozenset("abc") for name in "abc"}


def test_members_of_a_data_cycle_wait_for_none_of_each_other() -> None:
    graph = _scenario("mutual_remote_state_read")
    assert graph.upstreams_of("hub") == set()
    assert graph.upstreams_of("spoke") == set()


def test_what_is_downstream_of_a_data_cycle_waits_for_all_of_it() -> None:
    graph = _scenario("mutual_remote_state_read")
    assert graph.upstreams_of("apps") == {"hub", "spoke"}
    assert graph.upstreams_first(["apps", "spoke", "hub"]) == ["hub", "spoke", "apps"]


def test_a_depends_on_cycle_blocks_its_stacks_and_no_other() -> None:
    graph = _scenario("cycle")
    blocked = {path for path, node in graph.stacks.items() if node.run_blockers}
    assert blocked == {"apps", "dns", "eks", "network"}
    assert not graph.stacks["billing"].run_blockers
    assert affected(graph, ["billing/main.tf"]) == {"billing": "changed: billing/main.tf"}


def test_affected_cites_a_terraform_file_before_a_readme() -> None:
    graph = _scenario("mutual_remote_state_read")
    reasons = affected(graph, ["hub/README.md", "hub/main.tf"])
    assert reasons["hub"] == "changed: hub/main.tf"


def test_affected_lists_upstreams_first_not_by_name() -> None:
    graph = _scenario("s3_remote_state")
    assert list(affected(graph, ["network/main.tf"])) == ["network", "eks", "apps"]


def _two_inputs_one_pair() -> Graph:
    stacks = {p: StackNode(path=p, name=p) for p in ("network", "eks")}
    edges = [
        Edge("network", "eks", "data", "eks/stackrun.hcl", "input.vpc_id"),
        Edge("network", "eks", "data", "eks/stackrun.hcl", "input.subnet_ids"),
        Edge("network", "eks", "order", "eks/stackrun.hcl", "depends_on"),
    ]
    return Graph(stacks, edges, [], [])


def test_mermaid_draws_one_edge_per_pair_of_stacks() -> None:
    lines = render(_two_inputs_one_pair(), "mermaid").splitlines()
    assert [line for line in lines if "->" in line] == ["  s1 --> s0"]


def test_dot_draws_one_edge_per_pair_of_stacks() -> None:
    lines = render(_two_inputs_one_pair(), "dot").splitlines()
    assert [line for line in lines if "->" in line] == ['  "network" -> "eks" [style=solid];']


@pytest.mark.parametrize("scenario", ["mutual_remote_state_read", "two_stages_claiming_one_state"])
def test_the_graph_command_exits_0_and_warns_on_stderr(tmp_path: Path, scenario: str) -> None:
    repo = _committed(tmp_path, scenario)
    result = CliRunner().invoke(app, ["graph", str(repo)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["errors"] == [] and len(document["warnings"]) == 1
    assert result.stderr.startswith("warning: ")


@pytest.mark.parametrize("scenario", ["cycle", "mutual_remote_state_read", "duplicate_backend_key"])
def test_affected_exits_0_on_a_repository_with_standing_conflicts(
    tmp_path: Path, scenario: str
) -> None:
    repo = _committed(tmp_path, scenario)
    result = CliRunner().invoke(app, ["affected", str(repo), "--base", "HEAD", "--head", "HEAD"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_a_change_of_no_file_affects_not_even_a_broken_stack() -> None:
    graph = _scenario("syntax_error")
    assert graph.stacks["network"].errors
    assert affected(graph, []) == {}
