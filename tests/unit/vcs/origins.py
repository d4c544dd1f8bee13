"""A bare origin repository with a work tree that pushes to it: what mirror tests fetch from."""

from __future__ import annotations

from pathlib import Path

import git


def origin(tmp_path: Path) -> tuple[git.Repo, Path]:
    """A work tree on branch main whose remote `origin` is a bare repository; both."""
    bare = tmp_path / "origin.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    work = git.Repo.init(tmp_path / "work", initial_branch="main")
    work.create_remote("origin", str(bare))
    with work.config_writer() as config:
        config.set_value("user", "name", "Dev")
        config.set_value("user", "email", "dev@example.com")
    return work, bare


def commit(work: git.Repo, files: dict[str, str], message: str) -> str:
    """Write `files`, commit them and push main to origin: the new commit's id."""
    for path, text in files.items():
        target = Path(str(work.working_dir)) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    work.git.add(A=True)
    work.index.commit(message)
    work.git.push("origin", "main")
    return str(work.head.commit.hexsha)
