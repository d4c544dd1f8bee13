"""A renamed cluster: the hand-off removes the files it wrote for the old name in the same
commit as the new ones, and nothing it did not write."""

from __future__ import annotations

from pathlib import Path

import git

from orchestrator.handoff.gitops import publish
from orchestrator.handoff.render import RenderedFile

OLD = [
    RenderedFile("clusters/old/cluster-secret.yaml", {"kind": "Secret", "name": "old"}),
    RenderedFile("clusters/old/root-applicationset.yaml", {"kind": "ApplicationSet"}),
]
NEW = [
    RenderedFile("clusters/new/cluster-secret.yaml", {"kind": "Secret", "name": "new"}),
    RenderedFile("clusters/new/root-applicationset.yaml", {"kind": "ApplicationSet"}),
]


def _tree(bare: Path) -> set[str]:
    tree = git.Repo(bare).commit("main").tree
    return {str(item.path) for item in tree.traverse() if isinstance(item, git.Blob)}


def _someone_adds(bare: Path, tmp_path: Path, path: str) -> None:
    work = git.Repo.clone_from(f"file://{bare}", tmp_path / "someone")
    with work.config_writer() as config:
        config.set_value("user", "name", "Someone")
        config.set_value("user", "email", "someone@example.com")
    target = tmp_path / "someone" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("kept\n")
    work.git.add(A=True)
    work.git.commit("-m", "a file of someone's beside the hand-off's")
    work.git.push("origin", "HEAD:refs/heads/main")


def test_a_renamed_cluster_drops_the_files_written_for_its_old_name_in_the_same_commit(
    tmp_path: Path,
) -> None:
    bare = tmp_path / "gitops.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    first = publish(f"file://{bare}", "main", "clusters/old", OLD, "old", tmp_path / "w")
    assert first.files == tuple(sorted(f.path for f in OLD))
    _someone_adds(bare, tmp_path, "clusters/old/notes.md")
    commits = len(list(git.Repo(bare).iter_commits("main")))

    renamed = publish(
        f"file://{bare}", "main", "clusters/new", NEW, "new", tmp_path / "w", retired=first.files
    )

    assert renamed.status == "committed"
    assert len(list(git.Repo(bare).iter_commits("main"))) == commits + 1
    assert set(renamed.changed_paths) == {f.path for f in OLD + NEW}
    assert _tree(bare) == {f.path for f in NEW} | {"clusters/old/notes.md"}


def test_retired_paths_outside_the_repository_or_inside_git_are_ignored(tmp_path: Path) -> None:
    bare = tmp_path / "gitops.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    publish(f"file://{bare}", "main", "clusters/old", OLD, "old", tmp_path / "w")
    odd = ("../escape.yaml", "/etc/passwd", ".git/config", "clusters/new/cluster-secret.yaml")

    again = publish(f"file://{bare}", "main", "clusters/new", NEW, "n", tmp_path / "w", retired=odd)

    assert again.status == "committed"
    assert _tree(bare) == {f.path for f in OLD + NEW}
