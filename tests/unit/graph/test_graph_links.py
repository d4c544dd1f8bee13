"""Links at a commit (DESIGN §3, "Links"), on a real git repository: the graph reads a link to a
file inside the repository as that file; a link that leaves the repository blocks the stacks
that contain or use it, naming it, and is never written to a workspace; other stacks go on."""

from __future__ import annotations

import os
from pathlib import Path

import git
import pytest
from sqlalchemy.orm import Session

from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.load import graph_of_commit
from orchestrator.graphstore.gate import blockers_at
from orchestrator.vcs.mirror import Mirror

BACKEND = 'terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "%s"\n  }\n}\n'
READS = (
    'variable "upstream" {}\n'
    'data "terraform_remote_state" "up" {\n  backend = "s3"\n'
    '  config = {\n    bucket = "b"\n    key = var.upstream\n  }\n}\n'
)
FILES = {
    "network/main.tf": BACKEND % "network",
    "app/main.tf": BACKEND % "app" + READS,
    "shared/app.tfvars": 'upstream = "network"\n',
    "evil/main.tf": BACKEND % "evil",
    "user/main.tf": BACKEND % "user" + 'module "ext" {\n  source = "../modules/ext"\n}\n',
    "watcher/main.tf": BACKEND % "watcher",
    "watcher/stackrun.hcl": 'stack {\n  watch = ["../docs/*.md"]\n}\n',
    "modules/tagger/main.tf": 'resource "null_resource" "tag" {}\n',
    "caller/main.tf": BACKEND % "caller" + 'module "t" {\n  source = "../modules/tagger"\n}\n',
}
LINKS = {
    "app/terraform.tfvars": "../shared/app.tfvars",  # inside: read as its target
    "evil/evil.tf": "/etc/passwd",  # contained by the stack evil
    "modules/ext": "../../outside-modules",  # a module folder outside the repository
    "docs/notes.md": "/etc/motd",  # named by watcher's watch glob
    "modules/tagger/secret.txt": "/etc/shadow",  # inside a module caller uses
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    work = git.Repo.init(root, initial_branch="main")
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    for path, target in LINKS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / path)
    work.git.add(A=True)
    work.git.commit("-m", "links", "--author", "Dev <dev@example.com>")
    return root


def test_a_link_inside_the_repository_reads_as_its_target(repo: Path) -> None:
    mirror = Mirror(repo, "")
    graph = graph_of_commit(mirror, mirror.resolve("HEAD"), MemoryCache())
    edges = {(e.upstream, e.downstream) for e in graph.edges}
    assert edges == {("network", "app")}
    assert graph.stacks["app"].blockers == []


def test_stacks_that_contain_or_use_a_link_leaving_the_repository_are_blocked(
    repo: Path,
) -> None:
    mirror = Mirror(repo, "")
    graph = graph_of_commit(mirror, mirror.resolve("HEAD"), MemoryCache())
    blocked = {path: node.blockers for path, node in graph.stacks.items() if node.blockers}
    assert blocked == {
        "evil": [
            "evil/evil.tf is a link to '/etc/passwd', which leaves the repository (an absolute "
            "path); it is not extracted"
        ],
        "user": [
            "modules/ext is a link to '../../outside-modules', which leaves the repository; "
            "it is not extracted"
        ],
        "watcher": [
            "docs/notes.md is a link to '/etc/motd', which leaves the repository (an absolute "
            "path); it is not extracted"
        ],
        "caller": [
            "modules/tagger/secret.txt is a link to '/etc/shadow', which leaves the repository "
            "(an absolute path); it is not extracted"
        ],
    }
    assert {e["file"] for e in graph.errors if e["kind"] == "link"} == set(LINKS) - {
        "app/terraform.tfvars"
    }


def test_the_export_never_writes_a_link_that_leaves_and_keeps_those_inside(
    repo: Path, tmp_path: Path
) -> None:
    mirror = Mirror(repo, "")
    workspace = tmp_path / "ws"
    skipped = mirror.export(mirror.resolve("HEAD"), workspace)
    assert sorted(p.path for p in skipped) == sorted(set(LINKS) - {"app/terraform.tfvars"})
    for path in skipped:
        assert not os.path.lexists(workspace / path.path)
    inside = workspace / "app" / "terraform.tfvars"
    assert inside.is_symlink() and inside.read_text() == 'upstream = "network"\n'
    assert (workspace / "network" / "main.tf").read_text() == BACKEND % "network"


def test_the_worker_gate_names_what_blocks_a_stack(repo: Path, db: Session) -> None:
    mirror = Mirror(repo, "")
    head = mirror.resolve("HEAD")
    assert blockers_at(db, mirror, head, "network") == []
    assert blockers_at(db, mirror, head, "gone") == []
    assert blockers_at(db, mirror, head, "evil")[0].startswith("evil/evil.tf is a link to")
