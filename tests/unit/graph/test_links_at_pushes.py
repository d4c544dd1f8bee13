"""Links followed when a push is read from git (DESIGN §3, "Links"): a stack's tfvars that is
a link (through a chain of links) is read as the file it ends at; a push that changes only
that file affects the stacks whose links point at it; a push that changes a link affects the
stack holding it; a push that points a link outside the repository or at nothing gets an
error naming the link, and the link's text is never parsed. Each push's tree is built from the
previous commit's with `git diff-tree`, as the push path does."""

from __future__ import annotations

import os
from pathlib import Path

import git
import pytest

from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.load import graph_of_commit
from orchestrator.graph.push import PushImpact, impact
from orchestrator.vcs.mirror import Mirror

BACKEND = 'terraform {\n  backend "gcs" {\n    bucket = "tf"\n    prefix = "%s"\n  }\n}\n'
READS = (
    'variable "upstream" {}\n'
    'data "terraform_remote_state" "up" {\n  backend = "gcs"\n'
    '  config = {\n    bucket = "tf"\n    prefix = var.upstream\n  }\n}\n'
)


class Repository:
    """A git work tree read as stackrun reads a mirror, one commit at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.work = git.Repo.init(root, initial_branch="main")
        self.mirror = Mirror(root, "")
        self.cache = MemoryCache()

    def commit(self, files: dict[str, str], links: dict[str, str]) -> str:
        for path, text in files.items():
            (self.root / path).parent.mkdir(parents=True, exist_ok=True)
            (self.root / path).write_text(text)
        for path, target in links.items():
            link = self.root / path
            link.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(link):
                link.unlink()
            os.symlink(target, link)
        self.work.git.add("-A")
        self.work.git.commit("-q", "-m", "change", "--author", "Dev <dev@example.com>")
        return str(self.work.head.commit.hexsha)

    def push(self, before: str, after: str) -> PushImpact:
        graph_of_commit(self.mirror, before, self.cache)  # the parent's tree is remembered
        return impact(self.mirror, before, after, None, self.cache)


@pytest.fixture
def repository(tmp_path: Path) -> tuple[Repository, str]:
    repo = Repository(tmp_path / "repo")
    first = repo.commit(
        {
            "network/main.tf": BACKEND % "network",
            "dns/main.tf": BACKEND % "dns",
            "apps/shared/upstream.tfvars": 'upstream = "network"\n',
            "apps/other.tfvars": 'upstream = "dns"\n',
            **{f"apps/envs/{env}/main.tf": BACKEND % f"apps-{env}" + READS for env in ("a", "b")},
            "apps/envs/c/main.tf": BACKEND % "apps-c",
        },
        {
            "apps/terraform.tfvars": "shared/upstream.tfvars",
            "apps/envs/a/terraform.tfvars": "../../terraform.tfvars",  # a chain of two links
            "apps/envs/b/terraform.tfvars": "../../terraform.tfvars",
        },
    )
    return repo, first


def test_a_chain_of_links_is_read_as_the_file_it_ends_at(
    repository: tuple[Repository, str],
) -> None:
    repo, first = repository
    graph = graph_of_commit(repo.mirror, first, repo.cache)
    assert {(e.upstream, e.downstream) for e in graph.edges} == {
        ("network", "apps/envs/a"),
        ("network", "apps/envs/b"),
    }
    assert graph.errors == []


def test_a_push_changing_only_a_links_target_affects_the_stacks_that_read_it(
    repository: tuple[Repository, str],
) -> None:
    repo, first = repository
    second = repo.commit({"apps/shared/upstream.tfvars": 'upstream = "dns"\n'}, {})
    pushed = repo.push(first, second)
    assert pushed.changed == ("apps/shared/upstream.tfvars",)
    assert set(pushed.reasons) == {"apps/envs/a", "apps/envs/b"}
    assert pushed.reasons["apps/envs/a"] == (
        "changed: apps/shared/upstream.tfvars (seen at apps/envs/a/terraform.tfvars through a link)"
    )
    assert {(e.upstream, e.downstream) for e in pushed.graph.edges} == {
        ("dns", "apps/envs/a"),
        ("dns", "apps/envs/b"),
    }


def test_a_push_retargeting_a_link_affects_the_stack_holding_it(
    repository: tuple[Repository, str],
) -> None:
    repo, first = repository
    second = repo.commit({}, {"apps/envs/b/terraform.tfvars": "../../other.tfvars"})
    pushed = repo.push(first, second)
    assert set(pushed.reasons) == {"apps/envs/b"}
    assert {(e.upstream, e.downstream) for e in pushed.graph.edges} == {
        ("network", "apps/envs/a"),
        ("dns", "apps/envs/b"),
    }


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("../../../../outside.tfvars", "which leaves the repository; it is not extracted"),
        ("/etc/hostname", "which leaves the repository (an absolute path)"),
        ("../../missing.tfvars", "a link to apps/missing.tfvars, which does not exist"),
    ],
)
def test_a_link_leaving_the_repository_or_ending_nowhere_is_an_error_naming_it(
    repository: tuple[Repository, str], target: str, reason: str
) -> None:
    repo, first = repository
    second = repo.commit({}, {"apps/envs/c/terraform.tfvars": target})
    pushed = repo.push(first, second)
    errors = [e for e in pushed.graph.errors if e["file"] == "apps/envs/c/terraform.tfvars"]
    assert [e["kind"] for e in errors] == ["link"]
    assert reason in errors[0]["message"]
    assert "unexpected" not in errors[0]["message"]  # the link's text is never parsed
    assert set(pushed.reasons) == {"apps/envs/c"}
    assert {(e.upstream, e.downstream) for e in pushed.graph.edges} == {
        ("network", "apps/envs/a"),
        ("network", "apps/envs/b"),
    }


def test_a_tfvars_link_to_nothing_runs_its_stack_only_when_the_link_or_its_target_changes(
    repository: tuple[Repository, str],
) -> None:
    """Repositories ship `terraform.tfvars -> ../terraform.tfvars` for each user to create
    (terraform-example-foundation): the graph names the link, but an unrelated push does not
    run the stack; deleting or creating the file the link names does."""
    repo, first = repository
    (repo.root / "apps/shared/upstream.tfvars").unlink()
    deleted = repo.commit({}, {})
    pushed = repo.push(first, deleted)
    assert pushed.reasons == {
        "apps/envs/a": "changed: apps/shared/upstream.tfvars "
        "(seen at apps/envs/a/terraform.tfvars through a link)",
        "apps/envs/b": "changed: apps/shared/upstream.tfvars "
        "(seen at apps/envs/b/terraform.tfvars through a link)",
    }
    assert {e["file"] for e in pushed.graph.errors if e["kind"] == "link"} == {
        "apps/terraform.tfvars",
        "apps/envs/a/terraform.tfvars",
        "apps/envs/b/terraform.tfvars",
    }
    unrelated = repo.commit({"docs/README.md": "the platform\n"}, {})
    assert repo.push(deleted, unrelated).reasons == {}
    created = repo.commit({"apps/shared/upstream.tfvars": 'upstream = "dns"\n'}, {})
    assert set(repo.push(unrelated, created).reasons) == {"apps/envs/a", "apps/envs/b"}
