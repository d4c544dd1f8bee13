"""A mirror answers through its GitPython handle's running `git cat-file` what a git command
of its own would answer (vcs/handle.py): commits, parents, ancestry, branch heads after a
fetch, blobs, a diff asked twice; and its fetches leave git's housekeeping to one in 32."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import git
import pytest

from orchestrator.vcs import mirror as mirror_module
from orchestrator.vcs.mirror import Mirror


def _origin(tmp_path: Path) -> tuple[git.Repo, Path]:
    bare = tmp_path / "origin.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    work = git.Repo.init(tmp_path / "work", initial_branch="main")
    work.create_remote("origin", str(bare))
    with work.config_writer() as config:
        config.set_value("user", "name", "Dev")
        config.set_value("user", "email", "dev@example.com")
    return work, bare


def _commit(work: git.Repo, files: dict[str, str], message: str) -> str:
    for path, text in files.items():
        target = Path(str(work.working_dir)) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    work.git.add(A=True)
    work.index.commit(message)
    work.git.push("origin", "main")
    return str(work.head.commit.hexsha)


def test_answers_through_the_running_cat_file_match_gits_own(tmp_path: Path) -> None:
    work, bare = _origin(tmp_path)
    first = _commit(work, {f"f{i}.tf": f"{i}" for i in range(20)}, "one")
    second = _commit(work, {"f1.tf": "changed", "net/main.tf": "new"}, "two")
    mirror = Mirror(tmp_path / "mirror.git", f"file://{bare}")
    mirror.ensure_commit(second)
    assert mirror.has_commit(first) and not mirror.has_commit("1" * 40)
    assert mirror.is_ancestor(first, second) and not mirror.is_ancestor(second, first)
    assert mirror.parents(second) == [first]
    assert mirror.branch_head("main") == second
    third = _commit(work, {"f2.tf": "again"}, "three")
    mirror.ensure_commit(third)
    assert mirror.branch_head("main") == third, "a ref moved by a fetch is seen"
    assert mirror.is_ancestor(first, third), "not a parent: asked of git merge-base"
    assert mirror.diff_tree(second, third) == {
        "f2.tf": ("100644", mirror.tree_entries(third)["f2.tf"][1])
    }
    assert mirror.changed_paths(second, third) == ["f2.tf"]
    assert mirror.changed_paths(first, third) == ["f1.tf", "f2.tf", "net/main.tf"]
    blobs = sorted(blob for _, blob in mirror.tree_entries(third).values())
    assert len(blobs) > 16
    assert mirror.read_blobs(blobs[:3]) == {b: mirror.read_blobs(blobs)[b] for b in blobs[:3]}
    assert mirror.blob_sizes(blobs[:3]) == {b: mirror.blob_sizes(blobs)[b] for b in blobs[:3]}
    assert mirror.read_blobs(["1" * 40]) == {} and mirror.blob_sizes(["1" * 40]) == {}


def test_fetches_leave_gits_housekeeping_to_one_in_32(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options: list[Any] = []

    class Git:
        def __call__(self, c: list[str]) -> Git:
            options.append(c)
            return self

        def fetch(self, *_: object, **__: object) -> None:
            return None

    class Repo:
        git = Git()

    mirror = Mirror(tmp_path / "mirror.git", "file:///nowhere")
    monkeypatch.setattr(mirror, "_repo", lambda: Repo())
    for _ in range(mirror_module.HOUSEKEEPING_EVERY + 1):
        mirror._fetch(None)
    quiet = ["maintenance.auto=false", "gc.auto=0"]
    assert options[0] == [] and options[mirror_module.HOUSEKEEPING_EVERY] == []
    assert options[1 : mirror_module.HOUSEKEEPING_EVERY] == [quiet] * 31
