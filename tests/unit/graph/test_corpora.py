"""The stack graph on two real public monorepos (tests/data/corpora, with their licences and
the facts a careful reader finds in them; DESIGN §3): alphagov/govuk-aws @3a1937f0 (Terraform
0.11, partial backends completed per environment, deploy-time keys) and
terraform-example-foundation @ed07500e (symlinked tfvars, two alternative network stages)."""

from __future__ import annotations

import collections
import json
import tarfile
from pathlib import Path
from typing import Any

import git
import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.graph.affected import affected
from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.load import graph_of_commit, graph_of_directory
from orchestrator.graph.model import Graph
from orchestrator.vcs.mirror import Mirror

CORPORA = Path(__file__).resolve().parents[2] / "data" / "corpora"
GOVUK = "govuk-aws-3a1937f0.tar.gz"
FOUNDATION = "terraform-example-foundation-ed07500e.tar.gz"
NETWORK_STAGES = ("3-networks-hub-and-spoke", "3-networks-svpc")


def _extracted(archive: str, destination: Path) -> Path:
    """The corpus committed to a fresh repository, as its README says (`add -f`: some files
    are tracked upstream despite the repository's own .gitignore)."""
    with tarfile.open(CORPORA / archive) as tar:
        tar.extractall(destination, filter="data")
    (root,) = [p for p in destination.iterdir() if p.is_dir()]
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add("-A", "-f")
    repo.git.commit("-q", "-m", "corpus", "--author", "Corpus <corpus@example.com>")
    return root


@pytest.fixture(scope="module")
def govuk(tmp_path_factory: pytest.TempPathFactory) -> Graph:
    root = _extracted(GOVUK, tmp_path_factory.mktemp("govuk"))
    return graph_of_directory(root, MemoryCache())


@pytest.fixture(scope="module")
def foundation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _extracted(FOUNDATION, tmp_path_factory.mktemp("foundation"))


def _reads_with_an_edge(graph: Graph) -> collections.Counter[tuple[Any, ...]]:
    """{(reading folder, file, block, module call): how many edges it makes}."""
    return collections.Counter(
        (graph.stacks[e.downstream].path, e.file, e.block, e.via)
        for e in graph.edges
        if e.kind == "data"
    )


def test_every_govuk_project_is_a_stack_or_a_set_of_environment_instances(govuk: Graph) -> None:
    projects = {n.path for n in govuk.stacks.values() if n.path.startswith("terraform/projects/")}
    assert len(projects) == 92
    environments = collections.Counter(n.environment for n in govuk.stacks.values())
    assert environments == {
        "production": 83,
        "integration": 81,
        "staging": 80,
        "test": 14,
        "tools": 10,
        "hmggds": 1,
        None: 1,  # infra-certificates: no backend file, one stack as before
    }
    vpc = govuk.stacks["terraform/projects/infra-vpc@integration"]
    assert vpc.backend_files == ["terraform/projects/infra-vpc/integration.govuk.backend"]
    assert vpc.identity == (
        "s3",
        "govuk-terraform-steppingstone-integration",
        "govuk/infra-vpc.tfstate",
    )


def test_govuk_reads_join_the_producer_of_their_own_environment(govuk: Graph) -> None:
    """424 reads pin one producer project by their key's known part; each becomes an edge per
    environment both have, and no read joins two producers."""
    reads = _reads_with_an_edge(govuk)
    assert len(reads) >= 0.9 * 424
    assert len(reads) == 423
    matches = collections.Counter(e.match for e in govuk.edges)
    assert matches == {"pattern": 1193, "key-only": 3}
    for edge in govuk.edges:
        upstream, downstream = govuk.stacks[edge.upstream], govuk.stacks[edge.downstream]
        assert downstream.environment in (None, upstream.environment)
    per_instance = collections.Counter((e.downstream, e.file, e.block, e.via) for e in govuk.edges)
    assert max(per_instance.values()) == 1
    frontend = [
        e
        for e in govuk.edges
        if e.downstream == "terraform/projects/app-frontend@staging" and "infra_vpc" in e.block
    ]
    assert [(e.upstream, e.pattern) for e in frontend] == [
        ("terraform/projects/infra-vpc@staging", "*/infra-vpc.tfstate")
    ]


def test_govuk_reads_that_two_producers_could_answer_stay_unresolved_naming_them(
    govuk: Graph,
) -> None:
    """infra-certificates has no environment of its own: the five infra-root-dns-zones
    instances all match its read, and stackrun never guesses between them."""
    (read,) = [u for u in govuk.unresolved if "matches 5 stacks" in u["reason"]]
    assert read["stack"] == "terraform/projects/infra-certificates"
    for env in ("integration", "production", "staging", "test", "tools"):
        assert f"terraform/projects/infra-root-dns-zones@{env}" in read["reason"]
    reasons = collections.Counter(_reason_kind(u["reason"]) for u in govuk.unresolved)
    assert reasons == {"no writer": 18, "other environments only": 16, "unknown": 2, "ambiguous": 1}
    assert not any("config cannot be resolved" in u["reason"] for u in govuk.unresolved)


def _reason_kind(reason: str) -> str:
    if "only by instances of other environments" in reason:
        return "other environments only"
    if "matches 5 stacks" in reason:
        return "ambiguous"
    if reason.startswith("no stack in the repository writes"):
        return "no writer"
    return "unknown"


def test_foundation_reads_the_same_graph_from_the_files_and_from_a_commit(
    foundation: Path,
) -> None:
    from_files = graph_of_directory(foundation, MemoryCache()).to_json()
    mirror = Mirror(foundation, "")
    from_commit = graph_of_commit(mirror, mirror.resolve("HEAD"), MemoryCache()).to_json()
    assert from_files == from_commit
    assert len(from_files["stacks"]) == 19
    pairs = {(e["from"], e["to"]) for e in from_files["edges"]}
    assert len(pairs) == 30
    assert ("1-org/envs/shared", "2-environments/envs/production") in pairs
    assert ("2-environments/envs/development", "3-networks-svpc/envs/shared") in pairs
    kinds = {e["kind"] for e in from_files["errors"]}
    assert kinds == {"link"}  # links to example files the corpus does not ship; no parse error
    assert not any("unexpected" in e["message"] for e in from_files["errors"])


def test_foundation_reads_either_network_stage_could_answer_name_both(foundation: Path) -> None:
    graph = graph_of_directory(foundation, MemoryCache())
    either = [u for u in graph.unresolved if all(stage in u["reason"] for stage in NETWORK_STAGES)]
    assert sorted(u["stack"] for u in either) == [
        "4-projects/business_unit_1/development",
        "4-projects/business_unit_1/nonproduction",
        "4-projects/business_unit_1/production",
    ]
    duplicates = [w for w in graph.conflicts if w["kind"] == "duplicate_backend"]
    assert len(duplicates) == 4


@pytest.mark.parametrize("archive", [GOVUK, FOUNDATION])
def test_affected_of_no_change_is_empty_and_exits_0(tmp_path: Path, archive: str) -> None:
    root = _extracted(archive, tmp_path)
    result = CliRunner().invoke(app, ["affected", str(root), "--base", "HEAD", "--head", "HEAD"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_foundation_commit_ed07500e_affects_the_stacks_whose_folders_changed(
    foundation: Path,
) -> None:
    """ed07500e changed a go.mod, a package-lock.json under a module's function-source and a
    Dockerfile in a stack: the stack calling that module and the stack holding the Dockerfile
    changed; anything else runs only as their downstream."""
    repo = git.Repo(foundation)
    base = repo.head.commit.hexsha
    changed = {
        "test/integration/go.mod": "module example\n",
        "1-org/modules/cai-monitoring/function-source/package-lock.json": "{}\n",
        "4-projects/business_unit_1/shared/Dockerfile": "FROM scratch\n",
    }
    for path, text in changed.items():
        (foundation / path).parent.mkdir(parents=True, exist_ok=True)
        (foundation / path).write_text(text)
    repo.git.add("-A", "-f")
    repo.git.commit("-q", "-m", "ed07500e's files", "--author", "Corpus <corpus@example.com>")
    mirror = Mirror(foundation, "")
    graph = graph_of_commit(mirror, mirror.resolve("HEAD"), MemoryCache())
    reasons = affected(graph, mirror.changed_paths(base, "HEAD") or [])
    own = {s: r for s, r in reasons.items() if not r.startswith("downstream of ")}
    assert own == {
        "1-org/envs/shared": "module 1-org/modules/cai-monitoring changed: "
        "1-org/modules/cai-monitoring/function-source/package-lock.json",
        "4-projects/business_unit_1/shared": "changed: "
        "4-projects/business_unit_1/shared/Dockerfile",
    }
    assert next(iter(reasons)) == "1-org/envs/shared"  # run order: upstreams first
