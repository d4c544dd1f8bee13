"""Attacks on the incremental graph build (issue 21, DESIGN §3 "Speed"): sequences of commits
whose graph built from the parent's build must equal a build from nothing — modules that appear,
files that move, folders that go, environments, tfvars, patterns, depends_on, the root stack,
two repositories, other limits, merges, orphans, links — and graphs that later builds leave
alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.load import graph_of_commit
from tests.unit.graph.test_incremental_builds import (
    LIMITS,
    Repository,
    backend,
    forget_everything,
    from_nothing,
    observed,
    reads,
    tagged,
)

Push = tuple[str, dict[str, str | None], dict[str, str]]


def run(tmp_path: Path, first: dict[str, str], pushes: list[Push], name: str = "repo") -> None:
    repo = Repository(tmp_path / name)
    sha = repo.commit(first)
    warm = MemoryCache()
    graph_of_commit(repo.mirror, sha, warm, LIMITS)
    for why, files, links in pushes:
        sha = repo.commit(files, links)
        graph = graph_of_commit(repo.mirror, sha, warm, LIMITS)
        assert observed(graph) == observed(from_nothing(repo, sha)), why


@pytest.fixture(autouse=True)
def _clean() -> None:
    forget_everything()


BASE = {
    "net/backend.tf": backend("net.tfstate"),
    "app/backend.tf": backend("app.tfstate"),
    "app/main.tf": tagged("A"),
}


def test_a_module_called_before_it_exists(tmp_path: Path) -> None:
    """A stack calling a module folder that does not exist yet is analysed again when the folder
    appears (the analysis memo fingerprints every called folder, found or not): its edge
    through the module is there, and later changes of the module affect it."""
    run(
        tmp_path,
        {**BASE, "app/mod.tf": 'module "m" {\n  source = "../modules/m"\n}\n'},
        [("the module appears", {"modules/m/main.tf": reads("net", "net.tfstate")}, {})],
    )


def test_a_nested_module_called_before_it_exists(tmp_path: Path) -> None:
    run(
        tmp_path,
        {
            **BASE,
            "app/mod.tf": 'module "m" {\n  source = "../modules/m"\n}\n',
            "modules/m/main.tf": 'module "n" {\n  source = "../n"\n}\n',
        },
        [("the inner module appears", {"modules/n/main.tf": reads("net", "net.tfstate")}, {})],
    )


def test_files_move_and_folders_go(tmp_path: Path) -> None:
    run(
        tmp_path,
        {**BASE, "db/backend.tf": backend("db.tfstate"), "app/reads.tf": reads("db", "db.tfstate")},
        [
            (
                "a file moves between folders",
                {"app/reads.tf": None, "db/reads.tf": reads("net", "net.tfstate")},
                {},
            ),
            ("a folder goes entirely", {"db/backend.tf": None, "db/reads.tf": None}, {}),
            ("it comes back", {"db/backend.tf": backend("db.tfstate")}, {}),
            (
                "one blob at two paths",
                {"db/backend.tf": backend("x.tfstate"), "other/backend.tf": backend("x.tfstate")},
                {},
            ),
            ("one of them goes", {"other/backend.tf": None}, {}),
        ],
    )


def test_a_stack_becomes_a_module_source(tmp_path: Path) -> None:
    run(
        tmp_path,
        {**BASE, "lib/main.tf": tagged("L") + 'resource "x" "y" {\n'},
        [
            ("called as a module", {"app/mod.tf": 'module "l" {\n  source = "../lib"\n}\n'}, {}),
            ("no longer", {"app/mod.tf": None}, {}),
            ("mended", {"lib/main.tf": tagged("L")}, {}),
        ],
    )


def test_environments(tmp_path: Path) -> None:
    envs = (
        'stack {\n  environment "dev" {\n    backend_config = ["dev.tfbackend"]\n'
        '    var_files = ["../vars/dev.tfvars"]\n  }\n}\n'
    )
    run(
        tmp_path,
        {**BASE, "svc/backend.tf": 'terraform {\n  backend "s3" {}\n}\n'},
        [
            (
                "two tfbackend files",
                {
                    "svc/dev.tfbackend": 'bucket = "tf"\nkey = "svc/dev"\n',
                    "svc/prod.tfbackend": 'bucket = "tf"\nkey = "svc/prod"\n',
                },
                {},
            ),
            ("a reader", {"app/r.tf": reads("svc", "svc/dev")}, {}),
            ("a key moves", {"svc/dev.tfbackend": 'bucket = "tf"\nkey = "svc/dev2"\n'}, {}),
            ("an environment block", {"svc/stackrun.hcl": envs}, {}),
            ("the var file appears", {"vars/dev.tfvars": 'x = "1"\n'}, {}),
            ("it changes", {"vars/dev.tfvars": 'x = "2"\n'}, {}),
            ("it breaks", {"vars/dev.tfvars": "x = \n"}, {}),
            ("the block goes", {"svc/stackrun.hcl": None}, {}),
            (
                "a third env elsewhere",
                {"net/dev.tfbackend": 'key = "n"\n', "net/qa.tfbackend": 'key = "q"\n'},
                {},
            ),
            ("a lone one", {"svc/prod.tfbackend": None}, {}),
        ],
    )


VAR_KEY = (
    'variable "k" {\n  default = "net.tfstate"\n}\n'
    'data "terraform_remote_state" "n" {\n  backend = "s3"\n'
    '  config = {\n    bucket = "tf"\n    key = var.k\n  }\n}\n'
)
PATTERN = (
    'variable "env" {}\n'
    'data "terraform_remote_state" "n" {\n  backend = "s3"\n'
    '  config = {\n    bucket = "tf"\n    key = "${var.env}/net.tfstate"\n  }\n}\n'
)


def test_values_and_patterns(tmp_path: Path) -> None:
    run(
        tmp_path,
        {**BASE, "app/r.tf": VAR_KEY, "x/backend.tf": backend("other.tfstate")},
        [
            ("auto tfvars", {"app/a.auto.tfvars": 'k = "other.tfstate"\n'}, {}),
            ("terraform.tfvars", {"app/terraform.tfvars": 'k = "net.tfstate"\n'}, {}),
            ("auto tfvars changes", {"app/a.auto.tfvars": 'k = "nothing"\n'}, {}),
            ("a pattern read", {"app/r.tf": PATTERN}, {}),
            ("a stack it matches appears", {"p/backend.tf": backend("prod/net.tfstate")}, {}),
            ("another", {"q/backend.tf": backend("dev/net.tfstate")}, {}),
            ("one goes", {"p/backend.tf": None}, {}),
        ],
    )


def test_depends_on_and_root_stack(tmp_path: Path) -> None:
    run(
        tmp_path,
        BASE,
        [
            (
                "depends_on a missing stack",
                {
                    "app/stackrun.hcl": (
                        'stack {\n  depends_on = ["../db"]\n'
                        'input "x" {\n    stack = "../db"\n    output = "o"\n  }\n}\n'
                    ),
                },
                {},
            ),
            ("it appears", {"db/backend.tf": backend("db.tfstate")}, {}),
            ("cycle", {"db/stackrun.hcl": 'stack {\n  depends_on = ["../app"]\n}\n'}, {}),
            ("it goes", {"db/backend.tf": None, "db/stackrun.hcl": None}, {}),
            ("a root stackrun.hcl", {"stackrun.hcl": 'stack {\n  name = "root"\n}\n'}, {}),
            ("root terraform", {"main.tf": backend("root.tfstate")}, {}),
            ("a parse error at the root", {"stackrun.hcl": "stack {\n"}, {}),
            ("mended", {"stackrun.hcl": "stack {}\n"}, {}),
        ],
    )


def test_two_repositories_interleaved(tmp_path: Path) -> None:
    a, b = Repository(tmp_path / "a"), Repository(tmp_path / "b")
    warm = MemoryCache()
    module_call = 'module "m" {\n  source = "../modules/m"\n}\n'
    sa = a.commit(
        {**BASE, "app/mod.tf": module_call, "modules/m/main.tf": reads("net", "net.tfstate")}
    )
    sb = b.commit({**BASE, "app/mod.tf": module_call, "modules/m/main.tf": tagged("B")})
    for repo, sha in [(a, sa), (b, sb), (a, sa)]:
        graph = graph_of_commit(repo.mirror, sha, warm, LIMITS)
        assert observed(graph) == observed(from_nothing(repo, sha))
    sa = a.commit({"app/main.tf": tagged("A2")})
    sb = b.commit({"app/main.tf": tagged("A2")})
    for repo, sha in [(a, sa), (b, sb)]:
        graph = graph_of_commit(repo.mirror, sha, warm, LIMITS)
        assert observed(graph) == observed(from_nothing(repo, sha))


def test_a_parent_built_with_other_limits(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "repo")
    warm = MemoryCache()
    small = LIMITS.__class__(max_file_bytes=50, max_total_bytes=1_000_000, time_budget_seconds=60)
    sha = repo.commit(BASE)
    graph_of_commit(repo.mirror, sha, warm, small)
    sha = repo.commit({"app/main.tf": tagged("A2")})
    graph = graph_of_commit(repo.mirror, sha, warm, LIMITS)
    assert observed(graph) == observed(from_nothing(repo, sha))
    sha = repo.commit({"app/main.tf": tagged("A3")})
    graph = graph_of_commit(repo.mirror, sha, warm, small)
    forget_everything()
    assert observed(graph) == observed(graph_of_commit(repo.mirror, sha, MemoryCache(), small))


def test_force_push_and_merge(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "repo")
    warm = MemoryCache()
    first = repo.commit(BASE)
    graph_of_commit(repo.mirror, first, warm, LIMITS)
    side = repo.commit({"db/backend.tf": backend("db.tfstate")})
    graph_of_commit(repo.mirror, side, warm, LIMITS)
    repo.work.git.checkout("-q", "-b", "other", first)
    main_side = repo.commit({"app/r.tf": reads("db", "db.tfstate")})
    graph_of_commit(repo.mirror, main_side, warm, LIMITS)
    repo.work.git.merge("-q", "--no-edit", "main")
    merged = str(repo.work.head.commit.hexsha)
    graph = graph_of_commit(repo.mirror, merged, warm, LIMITS)
    assert observed(graph) == observed(from_nothing(repo, merged))
    repo.work.git.checkout("-q", "--orphan", "fresh")
    repo.work.git.rm("-rq", "--cached", ".")
    orphan = repo.commit({"zzz/backend.tf": backend("z.tfstate")})
    graph = graph_of_commit(repo.mirror, orphan, warm, LIMITS)
    assert observed(graph) == observed(from_nothing(repo, orphan))


def test_an_earlier_graph_is_not_changed_by_a_later_build(tmp_path: Path) -> None:
    """A later build never changes a graph returned earlier: each build's stack nodes are its
    own copies of the remembered analysis's (the cycle blocker of the first graph stays)."""
    repo = Repository(tmp_path / "repo")
    warm = MemoryCache()
    sha1 = repo.commit(
        {
            **BASE,
            "db/backend.tf": backend("db.tfstate"),
            "app/stackrun.hcl": 'stack {\n  depends_on = ["../db"]\n}\n',
            "db/stackrun.hcl": 'stack {\n  depends_on = ["../app"]\n}\n',
        }
    )
    first = graph_of_commit(repo.mirror, sha1, warm, LIMITS)
    before = observed(first)
    sha2 = repo.commit({"db/stackrun.hcl": None})
    graph_of_commit(repo.mirror, sha2, warm, LIMITS)
    assert observed(first) == before


def test_a_file_becomes_a_link_and_back_and_a_broken_blob_at_two_paths(tmp_path: Path) -> None:
    run(
        tmp_path,
        {**BASE, "db/backend.tf": backend("db.tfstate")},
        [
            (
                "a file becomes a link",
                {"app/backend.tf": None},
                {"app/backend.tf": "../db/backend.tf"},
            ),
            ("a value beside it", {"app/main.tf": tagged("A5")}, {}),
            ("the link becomes a file", {"app/backend.tf": backend("app.tfstate")}, {}),
            ("and later", {"app/main.tf": tagged("A6")}, {}),
            (
                "a broken blob at two paths",
                {"db/x.tf": 'resource "x" {\n', "app/x.tf": 'resource "x" {\n'},
                {},
            ),
            ("one mended", {"db/x.tf": None}, {}),
            ("the other", {"app/x.tf": None}, {}),
        ],
    )


def test_a_module_folder_appears_for_an_environment_instance(tmp_path: Path) -> None:
    run(
        tmp_path,
        {
            **BASE,
            "svc/backend.tf": (
                'terraform {\n  backend "s3" {}\n}\nmodule "m" {\n  source = "../modules/m"\n}\n'
            ),
            "svc/dev.tfbackend": 'bucket = "tf"\nkey = "svc/dev"\n',
            "svc/prod.tfbackend": 'bucket = "tf"\nkey = "svc/prod"\n',
        },
        [("the module appears", {"modules/m/main.tf": reads("net", "net.tfstate")}, {})],
    )
