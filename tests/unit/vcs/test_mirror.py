"""Git mirrors against real repositories on disk (file://), and errors that hide credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.vcs.mirror import ZERO_SHA, Mirror, Placement, VcsError
from tests.unit.vcs.origins import commit, origin


def test_mirror_fetches_new_commits_and_diffs_them(tmp_path: Path) -> None:
    work, bare = origin(tmp_path)
    first = commit(work, {"net/main.tf": "a", "README.md": "x"}, "one")
    mirror = Mirror(tmp_path / "mirror.git", f"file://{bare}")
    mirror.ensure_commit(first)
    second = commit(work, {"net/main.tf": "b", "eks/main.tf": "c"}, "two")
    mirror.ensure_commit(second)
    assert sorted(mirror.changed_paths(first, second) or []) == ["eks/main.tf", "net/main.tf"]
    assert mirror.changed_paths(ZERO_SHA, second) is None
    assert mirror.read_files(second, {"net/main.tf"}) == {"net/main.tf": "b"}
    assert mirror.commit_info(second) == ("two", "Dev")


def test_export_writes_the_tree_of_the_exact_commit(tmp_path: Path) -> None:
    work, bare = origin(tmp_path)
    first = commit(work, {"app/main.tf": "v1"}, "one")
    commit(work, {"app/main.tf": "v2"}, "two")
    mirror = Mirror(tmp_path / "mirror.git", f"file://{bare}")
    mirror.ensure_commit(first)
    mirror.export(first, tmp_path / "ws")
    assert (tmp_path / "ws" / "app" / "main.tf").read_text() == "v1"
    assert not (tmp_path / "ws" / ".git").exists()


def test_a_missing_commit_is_a_clear_error(tmp_path: Path) -> None:
    work, bare = origin(tmp_path)
    commit(work, {"a.tf": "a"}, "one")
    mirror = Mirror(tmp_path / "mirror.git", f"file://{bare}")
    with pytest.raises(VcsError, match=f"commit {'f' * 40} is not in file://"):
        mirror.ensure_commit("f" * 40)


def test_fetch_errors_never_show_the_credentials_of_the_clone_url(tmp_path: Path) -> None:
    mirror = Mirror(tmp_path / "mirror.git", "https://bot:s3cr3t-tok3n@127.0.0.1:9/acme/p.git")
    with pytest.raises(VcsError) as failure:
        mirror.ensure_commit("a" * 40)
    message = str(failure.value)
    assert message.startswith("fetching https://***@127.0.0.1:9/acme/p.git: ")
    assert "s3cr3t-tok3n" not in message
    assert failure.value.__cause__ is None


def test_locate_places_revisions_on_the_branch_as_last_fetched_and_never_fetches(
    tmp_path: Path,
) -> None:
    work, bare = origin(tmp_path)
    first = commit(work, {"a.tf": "1"}, "one")
    head = commit(work, {"a.tf": "2"}, "two")
    work.git.checkout("-b", "feature-leak")
    (Path(str(work.working_dir)) / "leak.tf").write_text("leak")
    work.git.add(A=True)
    work.index.commit("leak")
    work.git.push("origin", "feature-leak")
    leak = str(work.head.commit.hexsha)
    mirror = Mirror(tmp_path / "mirror.git", f"file://{bare}")
    assert mirror.locate(None, "main").head is None, "no clone yet, and locate does not make one"
    mirror.refresh()

    assert mirror.locate(None, "main") == Placement(head, head, True)
    assert mirror.locate(first[:10], "main") == Placement(head, first, True)
    assert mirror.locate("feature-leak", "main") == Placement(head, leak, False)
    assert mirror.locate(leak, "main") == Placement(head, leak, False)
    for unknown in ("f" * 40, "--all", "main files", ""):
        assert mirror.locate(unknown, "main") == Placement(head, None, False)
    assert mirror.locate(None, "nope") == Placement(None, None, False)

    work.git.checkout("main")
    newer = commit(work, {"a.tf": "3"}, "three")
    assert mirror.locate(newer, "main") == Placement(head, None, False)
    assert mirror.locate(None, "main").head == head


def test_a_refused_clone_url_is_never_handed_to_git(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    mirror = Mirror(tmp_path / "mirror.git", f"/{tmp_path}/ok.git", refused="local is refused")
    with pytest.raises(VcsError, match="fetching the repository's clone URL: local is refused"):
        mirror.refresh()
    with pytest.raises(VcsError, match="local is refused"):
        mirror.ensure_commit("a" * 40)
    assert not (tmp_path / "mirror.git").exists() and not marker.exists()


@pytest.mark.parametrize("url", ["ext::sh -c touch% {marker}", "fd::7,8"])
def test_git_pythons_unsafe_url_refusal_becomes_a_vcs_error(tmp_path: Path, url: str) -> None:
    """Should a dangerous URL get past the rule, GitPython's own refusal is a VcsError (a
    failed event), never an exception that crashes a task or answers 500."""
    marker = tmp_path / "pwned"
    mirror = Mirror(tmp_path / "mirror.git", url.format(marker=marker))
    with pytest.raises(VcsError, match="git refused it as unsafe") as failure:
        mirror.ensure_commit("a" * 40)
    assert str(marker) not in str(failure.value)
    assert not marker.exists()


def test_a_folder_that_is_not_a_git_repository_is_a_clear_error(tmp_path: Path) -> None:
    """`stackrun graph --rev` on a plain folder says so instead of a traceback."""
    with pytest.raises(VcsError, match="is not a git repository"):
        Mirror(tmp_path, "").resolve("HEAD")
    with pytest.raises(VcsError, match="is not a git repository"):
        Mirror(tmp_path / "missing", "").resolve("HEAD")
