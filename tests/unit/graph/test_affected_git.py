"""The affected set of a push on real git history (DESIGN §3): a bare origin, developer clones
that commit and push, and stackrun's mirror of the origin. orchestrator.graph.push decides the
diff base (`before`, or a merge-base for a new branch or a force push) and the stacks to run."""

from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest

from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.push import PushImpact, diff_base, impact
from orchestrator.vcs.mirror import ZERO_SHA, Mirror

TRACKED = "main"


def _backend(key: str) -> str:
    return (
        "terraform {\n"
        '  backend "s3" {\n'
        '    bucket = "acme-tfstate"\n'
        f'    key    = "{key}/terraform.tfstate"\n'
        '    region = "eu-west-1"\n'
        "  }\n"
        "}\n\n"
    )


def _reads(name: str, key: str) -> str:
    return (
        f'data "terraform_remote_state" "{name}" {{\n'
        '  backend = "s3"\n'
        "  config = {\n"
        '    bucket = "acme-tfstate"\n'
        f'    key    = "{key}/terraform.tfstate"\n'
        '    region = "eu-west-1"\n'
        "  }\n"
        "}\n\n"
    )


LABELS_MODULE = 'module "labels" {\n  source = "../modules/labels"\n  name   = "%s"\n}\n\n'

# network → eks (remote state) → apps (input); eks ⇢ monitoring (depends_on, order only);
# eks and dns use the shared module modules/labels; legacy is on its own.
MONOREPO = {
    "README.md": "# infra\n",
    "modules/labels/main.tf": (
        'variable "name" {\n  type = string\n}\n\n'
        'output "tags" {\n  value = { Name = var.name, ManagedBy = "stackrun" }\n}\n'
    ),
    "network/main.tf": _backend("network")
    + 'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n\n'
    + 'output "vpc_id" {\n  value = aws_vpc.main.id\n}\n',
    "eks/main.tf": _backend("eks")
    + _reads("network", "network")
    + LABELS_MODULE % "eks"
    + 'resource "aws_eks_cluster" "prod" {\n  name     = "prod"\n'
    + '  role_arn = "arn:aws:iam::123456789012:role/eks"\n  tags     = module.labels.tags\n\n'
    + "  vpc_config {\n"
    + "    subnet_ids = [data.terraform_remote_state.network.outputs.vpc_id]\n  }\n}\n",
    "apps/main.tf": _backend("apps")
    + 'variable "cluster_name" {\n  type = string\n}\n\n'
    + 'resource "helm_release" "app" {\n  name  = "app"\n  chart = "app"\n}\n',
    "apps/stackrun.hcl": (
        'stack {\n  input "cluster_name" {\n    stack  = "../eks"\n'
        '    output = "cluster_name"\n  }\n}\n'
    ),
    "monitoring/main.tf": _backend("monitoring")
    + 'resource "helm_release" "prometheus" {\n  name  = "prometheus"\n  chart = "prom"\n}\n',
    "monitoring/stackrun.hcl": 'stack {\n  depends_on = ["../eks"]\n}\n',
    "dns/main.tf": _backend("dns")
    + LABELS_MODULE % "dns"
    + 'resource "aws_route53_zone" "main" {\n  name = "acme.test"\n}\n',
    "legacy/main.tf": _backend("legacy") + 'resource "null_resource" "vpn" {}\n',
}
EVERY_STACK = {"apps", "dns", "eks", "legacy", "monitoring", "network"}


class Origin:
    """A bare origin on disk, developer clones of it, and stackrun's mirror (file://)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.bare = tmp_path / "origin.git"
        git.Repo.init(self.bare, bare=True, initial_branch=TRACKED)
        self.work = git.Repo.init(tmp_path / "work", initial_branch=TRACKED)
        self.work.create_remote("origin", str(self.bare))
        _identify(self.work)
        self.mirror = Mirror(tmp_path / "mirror.git", f"file://{self.bare}")
        self.cache = MemoryCache()

    def clone(self, name: str) -> git.Repo:
        """A second developer's clone of the origin as it is now."""
        repo = git.Repo.clone_from(str(self.bare), self.tmp_path / name)
        _identify(repo)
        return repo

    def impact(self, before: str, after: str) -> PushImpact:
        """What stackrun does with a push: fetch, read the tracked branch head, decide."""
        self.mirror.ensure_commit(after)
        tracked_head = self.mirror.resolve(f"refs/heads/{TRACKED}")
        return impact(self.mirror, before, after, tracked_head, self.cache)


def _identify(repo: git.Repo) -> None:
    with repo.config_writer() as config:
        config.set_value("user", "name", "Dev")
        config.set_value("user", "email", "dev@example.com")


def _commit(repo: git.Repo, files: dict[str, str | None], message: str) -> str:
    """Write (or, for None, delete) files and commit them; returns the new commit id."""
    root = Path(str(repo.working_dir))
    for path, text in files.items():
        target = root / path
        if text is None:
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    repo.git.add(A=True)
    repo.index.commit(message)
    return str(repo.head.commit.hexsha)


def _push(repo: git.Repo, branch: str = TRACKED, force: bool = False) -> str:
    repo.git.push("origin", f"HEAD:refs/heads/{branch}", force=force)
    return str(repo.head.commit.hexsha)


def _edit(path: str, line: str) -> dict[str, str | None]:
    """MONOREPO's `path` with one more line."""
    return {path: MONOREPO[path] + line}


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    return Origin(tmp_path)


def test_a_normal_push_diffs_against_before_and_pulls_in_data_downstream_stacks(
    origin: Origin,
) -> None:
    first = _commit(origin.work, dict(MONOREPO), "monorepo")
    _push(origin.work)
    origin.impact(ZERO_SHA, first)
    _commit(origin.work, _edit("network/main.tf", "# tighter CIDR soon\n"), "network")
    _commit(origin.work, _edit("dns/main.tf", "# new zone soon\n"), "dns")
    after = _push(origin.work)

    found = origin.impact(first, after)

    assert (found.base, found.base_reason) == (first, "before")
    assert found.reasons == {
        "apps": "downstream of eks",
        "dns": "changed: dns/main.tf",
        "eks": "downstream of network",
        "network": "changed: network/main.tf",
    }


def test_a_push_never_runs_upstream_or_order_only_downstream_stacks(origin: Origin) -> None:
    first = _commit(origin.work, dict(MONOREPO), "monorepo")
    _push(origin.work)
    after = _commit(origin.work, _edit("eks/main.tf", "# bigger nodes\n"), "eks")
    _push(origin.work)

    found = origin.impact(first, after)

    assert found.reasons == {"apps": "downstream of eks", "eks": "changed: eks/main.tf"}
    assert set(found.graph.stacks) == EVERY_STACK


def test_the_first_push_of_the_tracked_branch_affects_every_stack(origin: Origin) -> None:
    first = _commit(origin.work, dict(MONOREPO), "monorepo")
    _push(origin.work)

    found = origin.impact(ZERO_SHA, first)

    assert found.base is None
    assert found.base_reason == "no common history: every stack is affected"
    assert found.reasons == {
        path: "new: no earlier commit to compare with" for path in sorted(EVERY_STACK)
    }


def test_a_new_branch_counts_only_its_own_commits_since_the_merge_base_with_the_tracked_branch(
    origin: Origin,
) -> None:
    fork_point = _commit(origin.work, dict(MONOREPO), "monorepo")
    _push(origin.work)
    feature = origin.clone("feature-dev")
    # the tracked branch moves on after the fork: those changes are not the branch's own
    _commit(origin.work, _edit("network/main.tf", "# on main\n"), "main moves on")
    main_head = _push(origin.work)
    origin.impact(fork_point, main_head)
    _commit(feature, _edit("dns/main.tf", "# on the branch\n"), "feature: dns")
    branch_head = _push(feature, branch="feature/dns")

    found = origin.impact(ZERO_SHA, branch_head)

    assert (found.base, found.base_reason) == (fork_point, "merge-base with the tracked branch")
    assert found.reasons == {"dns": "changed: dns/main.tf"}
    assert diff_base(origin.mirror, ZERO_SHA, branch_head, main_head) == (
        fork_point,
        "merge-base with the tracked branch",
    )


def test_a_force_push_on_the_tracked_branch_diffs_from_the_merge_base_of_before_and_after(
    origin: Origin,
) -> None:
    shared = _commit(origin.work, dict(MONOREPO), "monorepo")
    _push(origin.work)
    stale = origin.clone("stale-dev")
    origin.impact(ZERO_SHA, shared)
    replaced = _commit(origin.work, _edit("network/main.tf", "# soon rewritten\n"), "network")
    _push(origin.work)
    origin.impact(shared, replaced)
    # another developer rewrites the tracked branch from an older clone
    rewritten = _commit(stale, _edit("eks/main.tf", "# instead\n"), "eks")
    _push(stale, force=True)

    found = origin.impact(replaced, rewritten)

    assert not origin.mirror.is_ancestor(replaced, rewritten)
    assert (found.base, found.base_reason) == (shared, "merge-base with before (force push)")
    assert found.reasons == {"apps": "downstream of eks", "eks": "changed: eks/main.tf"}


def test_a_push_that_only_changes_a_shared_module_runs_its_users_and_their_data_downstream(
    origin: Origin,
) -> None:
    first = _commit(origin.work, dict(MONOREPO), "monorepo")
    _push(origin.work)
    after = _commit(origin.work, _edit("modules/labels/main.tf", "# one more tag soon\n"), "labels")
    _push(origin.work)

    found = origin.impact(first, after)

    assert found.base == first
    assert found.reasons == {
        "apps": "downstream of eks",
        "dns": "module modules/labels changed: modules/labels/main.tf",
        "eks": "module modules/labels changed: modules/labels/main.tf",
    }


def test_a_deleted_stack_leaves_the_graph_and_is_never_affected(origin: Origin) -> None:
    first = _commit(origin.work, dict(MONOREPO), "monorepo")
    _push(origin.work)
    after = _commit(origin.work, {"legacy": None}, "retire the legacy VPN stack")
    _push(origin.work)

    found = origin.impact(first, after)

    assert origin.mirror.changed_paths(first, after) == ["legacy/main.tf"]
    assert "legacy" not in found.graph.stacks
    assert set(found.graph.stacks) == EVERY_STACK - {"legacy"}
    assert found.reasons == {}


def test_a_deleted_stack_beside_a_changed_one_runs_only_the_changed_one(origin: Origin) -> None:
    first = _commit(origin.work, dict(MONOREPO), "monorepo")
    _push(origin.work)
    after = _commit(
        origin.work,
        {"legacy": None, **_edit("dns/main.tf", "# takes over the VPN records\n")},
        "move the VPN records to dns",
    )
    _push(origin.work)

    found = origin.impact(first, after)

    assert found.reasons == {"dns": "changed: dns/main.tf"}


def test_an_incremental_tree_from_the_parent_gives_the_same_graph_as_a_full_read(
    tmp_path: Path,
) -> None:
    from orchestrator.graph import load

    origin, work = _incremental_origin(tmp_path)
    mirror = Mirror(tmp_path / "mirror.git", f"file://{origin}")
    first = _commit_files(
        work,
        {
            "net/main.tf": _BACKEND.format(key="net"),
            "app/main.tf": _BACKEND.format(key="app"),
            "app/read.tf": _READER.format(key="net"),
        },
    )
    mirror.ensure_commit(first)
    load.graph_of_commit(mirror, first, MemoryCache())
    second = _commit_files(
        work,
        {"dns/main.tf": _BACKEND.format(key="dns"), "app/read.tf": _READER.format(key="dns")},
        remove=["net/main.tf"],
    )
    mirror.ensure_commit(second)
    incremental = load.graph_of_commit(mirror, second, MemoryCache())
    load._TREES.clear()
    full = load.graph_of_commit(mirror, second, MemoryCache())
    assert incremental.to_json() == full.to_json()
    assert {(e.upstream, e.downstream) for e in full.edges} == {("dns", "app")}


_BACKEND = 'terraform {{\n  backend "s3" {{\n    bucket = "b"\n    key = "{key}"\n  }}\n}}\n'
_READER = (
    'data "terraform_remote_state" "r" {{\n  backend = "s3"\n'
    '  config = {{\n    bucket = "b"\n    key = "{key}"\n  }}\n}}\n'
)


def _incremental_origin(tmp_path: Path) -> tuple[Path, git.Repo]:
    origin = tmp_path / "inc-origin.git"
    git.Repo.init(origin, bare=True, initial_branch="main")
    work = git.Repo.init(tmp_path / "inc-work", initial_branch="main")
    work.create_remote("origin", str(origin))
    with work.config_writer() as config:
        config.set_value("user", "name", "Dev")
        config.set_value("user", "email", "dev@example.com")
    return origin, work


def _commit_files(work: git.Repo, files: dict[str, str], remove: list[str] | None = None) -> str:
    root = Path(str(work.working_dir))
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    for path in remove or []:
        (root / path).unlink()
    work.git.add(A=True)
    work.index.commit("change")
    work.git.push("origin", "main")
    return str(work.head.commit.hexsha)
