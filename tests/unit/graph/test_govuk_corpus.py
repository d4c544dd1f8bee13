"""alphagov/govuk-aws @3a1937f0 (../shared/corpora): Terraform 0.11 `config` blocks, partial
backends completed by `<env>.<stack>.backend` files, keys with deploy-time parts. Every read
whose key's known part pins one producer becomes an edge; the read whose prefix is unknown in
full stays unresolved. Skipped where the corpus is not there."""

from __future__ import annotations

import collections
import tarfile
from pathlib import Path

import pytest

from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.load import graph_of_directory

CORPUS = Path(__file__).resolve().parents[3].parent / "shared/corpora/govuk-aws-3a1937f0.tar.gz"


@pytest.mark.skipif(not CORPUS.exists(), reason=f"{CORPUS} is not there")
def test_govuk_aws_reads_become_edges_by_their_known_key_part(tmp_path: Path) -> None:
    with tarfile.open(CORPUS) as archive:
        archive.extractall(tmp_path, filter="data")
    graph = graph_of_directory(tmp_path / "govuk-aws", MemoryCache()).to_json()
    projects = {s["path"] for s in graph["stacks"] if s["path"].startswith("terraform/projects/")}
    matches = collections.Counter(edge.get("match") for edge in graph["edges"])
    assert len(projects) == 92
    assert matches == {"pattern": 423, "key-only": 1}
    assert len(graph["unresolved"]) == 7
    assert not any("config cannot be resolved" in u["reason"] for u in graph["unresolved"])
    vpc = [
        e
        for e in graph["edges"]
        if e["to"] == "terraform/projects/app-frontend" and e["from"].endswith("/infra-vpc")
    ]
    assert vpc[0]["evidence"]["pattern"] == "*/infra-vpc.tfstate"
