"""A mirror answers through its GitPython handle's running `git cat-file` what a git command
of its own would answer (vcs/handle.py): commits, parents, ancestry, branch heads after a
fetch, blobs, a diff asked twice; and its fetches leave git's housekeeping to one in 32."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.vcs import mirror as mirror_module
from orchestrator.vcs.mirror import Mirror
from tests.unit.vcs.origins import commit, origin


def test_answers_through_the_running_cat_file_match_gits_own(tmp_path: Path) -> None:
    work, bare = origin(tmp_path)
    first = commit(work, {f"f{i}.tf": f"{i}" for i in range(20)}, "one")
    second = commit(work, {"f1.tf": "changed", "net/main.tf": "new"}, "two")
    mirror = Mirror(tmp_path / "mirror.git", f"file://{bare}")
    mirror.ensure_commit(second)
    assert mirror.has_commit(first) and not mirror.has_commit("1" * 40)
    assert mirror.is_ancestor(first, second) and not mirror.is_ancestor(second, first)
    assert mirror.parents(second) == [first]
    assert mirror.branch_head("main") == second
    third = commit(work, {"f2.tf": "again"}, "three")
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
