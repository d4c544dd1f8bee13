"""A graph built after a push from what the parent's build left (its facts, analyses and links,
DESIGN §3 "Speed") is the graph a build from nothing gives, push after push: a changed value,
a moved backend key, a new and a deleted stack, a parse error, a file over a limit, a link
added and removed, a declared dependency and a cycle of them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import git
import pytest

from orchestrator.graph import analysis, carry, facts, relink
from orchestrator.graph import load as graph_load
from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.limits import GraphLimits
from orchestrator.graph.load import graph_of_commit
from orchestrator.graph.model import Graph
from orchestrator.vcs.mirror import Mirror

LIMITS = GraphLimits(max_file_bytes=4_000, max_total_bytes=1_000_000, time_budget_seconds=60)


def backend(key: str) -> str:
    return f'terraform {{\n  backend "s3" {{\n    bucket = "tf"\n    key = "{key}"\n  }}\n}}\n'


def reads(name: str, key: str) -> str:
    return (
        f'data "terraform_remote_state" "{name}" {{\n  backend = "s3"\n'
        f'  config = {{\n    bucket = "tf"\n    key = "{key}"\n  }}\n}}\n'
    )


def tagged(value: str) -> str:
    return f'locals {{\n  tags = {{ Ticket = "{value}" }}\n}}\n'


class Repository:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.work = git.Repo.init(root, initial_branch="main")
        self.mirror = Mirror(root, "")

    def commit(self, files: dict[str, str | None], links: dict[str, str] | None = None) -> str:
        for path, text in files.items():
            target = self.root / path
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        for path, end in (links or {}).items():
            os.symlink(end, self.root / path)
        self.work.git.add("-A")
        self.work.git.commit("-q", "-m", "change", "--author", "Dev <dev@example.com>")
        return str(self.work.head.commit.hexsha)


MEMOS: list[dict[Any, Any]] = [analysis._MEMO, relink._MEMO, carry._COLLECTED, graph_load._TREES]


def forget_everything() -> None:
    for memo in MEMOS:
        memo.clear()
    facts.forget_blocks()


def from_nothing(repo: Repository, sha: str) -> Graph:
    """The graph of `sha` with every memo empty; the memos are as they were afterwards."""
    kept = [dict(memo) for memo in MEMOS]
    forget_everything()
    try:
        return graph_of_commit(repo.mirror, sha, MemoryCache(), LIMITS)
    finally:
        for memo, entries in zip(MEMOS, kept, strict=True):
            memo.clear()
            memo.update(entries)


def observed(graph: Graph) -> dict[str, Any]:
    """The graph as JSON, plus what each stack's runs are given that the JSON leaves out."""
    return {
        "graph": graph.to_json(),
        "stacks": {
            address: [node.inputs, node.local_reads, node.run_blockers, node.errors]
            for address, node in sorted(graph.stacks.items())
        },
    }


PUSHES: list[tuple[str, dict[str, str | None], dict[str, str]]] = [
    ("a value changes", {"app/main.tf": tagged("CHG-2")}, {}),
    ("a backend key moves", {"net/backend.tf": backend("net/v2.tfstate")}, {}),
    ("the reader follows it", {"app/reads.tf": reads("net", "net/v2.tfstate")}, {}),
    ("a stack is added", {"db/backend.tf": backend("db.tfstate")}, {}),
    ("a reader of the new stack", {"app/db.tf": reads("db", "db.tfstate")}, {}),
    ("a file fails to parse", {"db/broken.tf": 'resource "x" {\n'}, {}),
    ("it is mended", {"db/broken.tf": None}, {}),
    ("a file over the per-file limit", {"app/big.tf": "# " + "x" * 5_000 + "\n"}, {}),
    ("back under it", {"app/big.tf": None}, {}),
    ("a declared dependency", {"app/stackrun.hcl": 'stack {\n  depends_on = ["../db"]\n}\n'}, {}),
    (
        "a cycle through depends_on",
        {"db/stackrun.hcl": 'stack {\n  depends_on = ["../app"]\n}\n'},
        {},
    ),
    ("a value changes inside the cycle", {"app/main.tf": tagged("CHG-5")}, {}),
    ("the cycle is broken", {"db/stackrun.hcl": None}, {}),
    ("a link is added", {}, {"app/shared.tf": "../net/backend.tf"}),
    ("a value changes beside the link", {"app/main.tf": tagged("CHG-3")}, {}),
    ("the link goes", {"app/shared.tf": None}, {}),
    ("a module changes", {"modules/tags/main.tf": reads("db2", "db.tfstate")}, {}),
    ("a stack is deleted", {"db/backend.tf": None, "db/main.tf": None}, {}),
    ("a value changes again", {"app/main.tf": tagged("CHG-4")}, {}),
]


@pytest.fixture
def repository(tmp_path: Path) -> tuple[Repository, str]:
    repo = Repository(tmp_path / "repo")
    first = repo.commit(
        {
            "net/backend.tf": backend("net.tfstate"),
            "app/backend.tf": backend("app.tfstate"),
            "app/main.tf": tagged("CHG-1") + 'module "tags" {\n  source = "../modules/tags"\n}\n',
            "app/reads.tf": reads("net", "net.tfstate"),
            "db/main.tf": tagged("DB-1"),
            "modules/tags/main.tf": 'variable "name" {\n  default = "x"\n}\n',
        }
    )
    return repo, first


def test_every_push_built_from_its_parent_equals_a_build_from_nothing(
    repository: tuple[Repository, str],
) -> None:
    repo, first = repository
    forget_everything()
    warm = MemoryCache()
    graph_of_commit(repo.mirror, first, warm, LIMITS)
    for why, files, links in PUSHES:
        sha = repo.commit(files, links)
        graph = graph_of_commit(repo.mirror, sha, warm, LIMITS)
        assert observed(graph) == observed(from_nothing(repo, sha)), why
        in_cycle = "cycle" in why and "broken" not in why
        assert bool(graph.stacks["app"].cycle_blockers) == in_cycle, why


def test_a_push_that_changes_a_few_files_reads_only_those_files(
    repository: tuple[Repository, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, first = repository
    forget_everything()
    cache = MemoryCache()
    graph_of_commit(repo.mirror, first, cache, LIMITS)
    sha = repo.commit({"app/main.tf": tagged("CHG-9")})
    asked: list[list[str]] = []
    listing = repo.mirror.tree_entries

    def read_blobs(ids: list[str]) -> dict[str, bytes]:
        asked.append(ids)
        return dict(Mirror.read_blobs(repo.mirror, ids))

    monkeypatch.setattr(repo.mirror, "read_blobs", read_blobs)
    monkeypatch.setattr(repo.mirror, "tree_entries", lambda s: pytest.fail(f"listed {s}"))
    graph = graph_of_commit(repo.mirror, sha, cache, LIMITS)
    monkeypatch.setattr(repo.mirror, "tree_entries", listing)
    assert asked == [[repo.work.git.rev_parse(f"{sha}:app/main.tf")]]
    assert sorted(graph.stacks) == ["app", "net"]


def test_a_link_in_the_tree_makes_the_build_read_the_whole_tree(
    repository: tuple[Repository, str],
) -> None:
    repo, first = repository
    forget_everything()
    cache = MemoryCache()
    graph_of_commit(repo.mirror, first, cache, LIMITS)
    linked = repo.commit({}, {"app/shared.tf": "../net/backend.tf"})
    graph_of_commit(repo.mirror, linked, cache, LIMITS)
    assert carry.recalled((str(repo.mirror.path), linked)) is None
