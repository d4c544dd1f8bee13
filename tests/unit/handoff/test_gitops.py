"""Publishing to a real GitOps repository: a bare repo on disk reached over file://, no mocks."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import git
import pytest

from orchestrator.handoff.gitops import GitopsError, Published, publish
from orchestrator.handoff.gitops_clone import Clone
from orchestrator.handoff.render import RenderedFile

FOLDER = "clusters/c1"
SECRET = RenderedFile(f"{FOLDER}/cluster-secret.yaml", {"kind": "Secret", "name": "c1"})
APPSET = RenderedFile(f"{FOLDER}/root-applicationset.yaml", {"kind": "ApplicationSet"})
APP = RenderedFile(f"{FOLDER}/root-application.yaml", {"kind": "Application"})
_clones = count()


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """An empty bare repository standing for the GitOps remote."""
    path = tmp_path / "gitops.git"
    git.Repo.init(path, bare=True, initial_branch="main")
    return path


def _url(bare: Path) -> str:
    return f"file://{bare}"


def _publish(
    bare: Path,
    workdir: Path,
    files: list[RenderedFile],
    message: str = "hand-off c1",
    branch: str = "main",
) -> Published:
    return publish(_url(bare), branch, FOLDER, files, message, workdir)


def _commits(bare: Path, branch: str = "main") -> list[git.Commit]:
    return list(git.Repo(bare).iter_commits(branch))


def _head(bare: Path, branch: str = "main") -> str:
    return str(git.Repo(bare).commit(branch).hexsha)


def _tree(bare: Path, branch: str = "main") -> dict[str, str]:
    """{path: text} of every file on the branch."""
    tree = git.Repo(bare).commit(branch).tree
    return {
        str(item.path): item.data_stream.read().decode()
        for item in tree.traverse()
        if isinstance(item, git.Blob)
    }


def _identified(repo: git.Repo) -> git.Repo:
    """The repository with a committer identity of its own (CI may have no global one)."""
    with repo.config_writer() as config:
        config.set_value("user", "name", "Someone")
        config.set_value("user", "email", "someone@example.com")
    return repo


def _someone_pushes(bare: Path, tmp_path: Path, files: dict[str, str], branch: str = "main") -> str:
    """Another user commits `files` on `branch` from their own clone and pushes."""
    work = _identified(git.Repo.clone_from(_url(bare), tmp_path / f"someone-{next(_clones)}"))
    if branch in {ref.remote_head for ref in work.remote().refs}:
        work.git.checkout("-B", branch, f"origin/{branch}")
    else:
        work.git.checkout("--orphan", branch)
    for path, text in files.items():
        target = Path(str(work.working_dir)) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    work.git.add(A=True)
    work.git.commit("-m", "someone's change")
    work.git.push("origin", f"HEAD:refs/heads/{branch}")
    return str(work.head.commit.hexsha)


def test_first_publish_into_an_empty_repository_creates_the_branch_with_one_commit(
    bare: Path, tmp_path: Path
) -> None:
    published = _publish(bare, tmp_path / "work", [SECRET, APPSET], message="hand-off c1 (run 7)")

    assert published == Published(
        "committed", _head(bare), tuple(sorted([SECRET.path, APPSET.path]))
    )
    [commit] = _commits(bare)
    assert commit.hexsha == published.commit
    assert (commit.author.name, commit.author.email) == ("stackrun", "stackrun@localhost")
    assert (commit.committer.name, commit.committer.email) == ("stackrun", "stackrun@localhost")
    assert str(commit.message).strip() == "hand-off c1 (run 7)"
    assert _tree(bare) == {SECRET.path: SECRET.text(), APPSET.path: APPSET.text()}


def test_publishing_identical_files_again_is_unchanged_without_a_new_commit(
    bare: Path, tmp_path: Path
) -> None:
    first = _publish(bare, tmp_path / "work", [SECRET, APPSET])

    again = _publish(bare, tmp_path / "work", [APPSET, SECRET])
    from_a_fresh_workdir = _publish(bare, tmp_path / "other-work", [SECRET, APPSET])

    assert again == Published("unchanged", first.commit, ())
    assert from_a_fresh_workdir == Published("unchanged", first.commit, ())
    assert len(_commits(bare)) == 1


def test_a_changed_file_makes_exactly_one_new_commit_on_top(bare: Path, tmp_path: Path) -> None:
    first = _publish(bare, tmp_path / "work", [SECRET, APPSET])
    changed = RenderedFile(SECRET.path, {"kind": "Secret", "name": "c1", "server": "new"})

    second = _publish(bare, tmp_path / "work", [changed, APPSET], message="second")

    assert second.status == "committed"
    assert second.changed_paths == (SECRET.path,)
    commits = _commits(bare)
    assert [c.hexsha for c in commits] == [second.commit, first.commit]
    assert str(commits[0].message).strip() == "second"
    assert _tree(bare)[SECRET.path] == changed.text()


def test_a_file_dropped_from_the_set_is_deleted_while_files_outside_the_owned_folder_stay(
    bare: Path, tmp_path: Path
) -> None:
    _publish(bare, tmp_path / "work", [SECRET, APPSET])
    outside = {"README.md": "gitops\n", "clusters/c2/app.yaml": "kind: Application\n"}
    _someone_pushes(bare, tmp_path, outside)

    switched = _publish(bare, tmp_path / "work", [SECRET, APP])

    assert switched.status == "committed"
    assert switched.changed_paths == tuple(sorted([APPSET.path, APP.path]))
    assert _tree(bare) == {**outside, SECRET.path: SECRET.text(), APP.path: APP.text()}


def test_an_unlisted_file_someone_added_inside_the_owned_folder_is_removed(
    bare: Path, tmp_path: Path
) -> None:
    _someone_pushes(bare, tmp_path, {f"{FOLDER}/manual.yaml": "x: 1\n", "keep.txt": "k\n"})

    published = _publish(bare, tmp_path / "work", [SECRET])

    assert published.changed_paths == tuple(sorted([f"{FOLDER}/manual.yaml", SECRET.path]))
    assert _tree(bare) == {"keep.txt": "k\n", SECRET.path: SECRET.text()}


def test_publishing_onto_an_existing_branch_keeps_its_other_content(
    bare: Path, tmp_path: Path
) -> None:
    theirs = _someone_pushes(bare, tmp_path, {"README.md": "hi\n", "apps/a.yaml": "a: 1\n"})

    published = _publish(bare, tmp_path / "work", [SECRET])

    commit = git.Repo(bare).commit(published.commit)
    assert [p.hexsha for p in commit.parents] == [theirs]
    assert _tree(bare) == {"README.md": "hi\n", "apps/a.yaml": "a: 1\n", SECRET.path: SECRET.text()}


def test_a_branch_the_remote_lacks_starts_from_scratch_beside_the_others(
    bare: Path, tmp_path: Path
) -> None:
    _someone_pushes(bare, tmp_path, {"README.md": "main branch\n"})

    published = _publish(bare, tmp_path / "work", [SECRET], branch="gitops")

    [commit] = _commits(bare, "gitops")
    assert commit.hexsha == published.commit
    assert commit.parents == ()
    assert _tree(bare, "gitops") == {SECRET.path: SECRET.text()}
    assert _tree(bare, "main") == {"README.md": "main branch\n"}


def test_a_commit_pushed_elsewhere_after_the_workdir_clone_is_kept_by_the_next_publish(
    bare: Path, tmp_path: Path
) -> None:
    first = _publish(bare, tmp_path / "work", [SECRET])
    theirs = _someone_pushes(bare, tmp_path, {"clusters/c2/x.yaml": "x: 2\n"})

    second = _publish(bare, tmp_path / "work", [SECRET, APPSET])

    assert [c.hexsha for c in _commits(bare)] == [second.commit, theirs, first.commit]
    assert _tree(bare) == {
        "clusters/c2/x.yaml": "x: 2\n",
        SECRET.path: SECRET.text(),
        APPSET.path: APPSET.text(),
    }


def _push_after_someone(
    monkeypatch: pytest.MonkeyPatch, bare: Path, tmp_path: Path, times: int
) -> list[str]:
    """Make someone push right before each of stackrun's next `times` pushes (a real race)."""
    theirs: list[str] = []
    real_push = Clone.push

    def racing_push(clone: Clone, commit: str, base: str | None) -> str:
        if len(theirs) < times:
            theirs.append(_someone_pushes(bare, tmp_path, {f"other/{len(theirs)}.txt": "x\n"}))
        return real_push(clone, commit, base)

    monkeypatch.setattr(Clone, "push", racing_push)
    return theirs


def test_a_push_rejected_because_the_branch_moved_is_redone_on_the_new_head(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first = _publish(bare, tmp_path / "work", [SECRET])
    theirs = _push_after_someone(monkeypatch, bare, tmp_path, times=2)

    with caplog.at_level(logging.INFO, logger="orchestrator.handoff.gitops"):
        second = _publish(bare, tmp_path / "work", [SECRET, APPSET])

    assert second.status == "committed"
    assert second.changed_paths == (APPSET.path,)
    assert [c.hexsha for c in _commits(bare)] == [second.commit, *reversed(theirs), first.commit]
    assert set(_tree(bare)) == {"other/0.txt", "other/1.txt", SECRET.path, APPSET.path}
    assert sum("gitops push rejected" in r.getMessage() for r in caplog.records) == 2


def test_a_branch_that_keeps_moving_fails_after_three_retries(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _publish(bare, tmp_path / "work", [SECRET])
    theirs = _push_after_someone(monkeypatch, bare, tmp_path, times=10)

    with pytest.raises(GitopsError) as failure:
        _publish(bare, tmp_path / "work", [SECRET, APPSET])

    assert str(failure.value).startswith(f"pushing to {_url(bare)} (branch main): rejected 4 times")
    assert "stale info" in str(failure.value)
    assert len(theirs) == 4
    assert _head(bare) == theirs[-1]


def test_a_push_the_remote_refuses_for_another_reason_fails_at_once(
    bare: Path, tmp_path: Path
) -> None:
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch main is protected' >&2\nexit 1\n")
    hook.chmod(0o755)

    with pytest.raises(GitopsError) as failure:
        _publish(bare, tmp_path / "work", [SECRET])

    message = str(failure.value)
    assert message.startswith(f"pushing to {_url(bare)} (branch main): [remote rejected]")
    assert "branch main is protected" in message
    assert not git.Repo(bare).heads


@pytest.mark.parametrize("missing", ["{tmp}/absent.git", "file://{tmp}/absent.git"])
def test_a_repository_that_does_not_exist_fails_at_the_clone_step(
    tmp_path: Path, missing: str
) -> None:
    url = missing.format(tmp=tmp_path)

    with pytest.raises(GitopsError) as failure:
        publish(url, "main", FOLDER, [SECRET], "m", tmp_path / "work")

    message = str(failure.value)
    assert message.startswith(f"cloning {url} (branch main): ")
    assert "does not appear to be a git repository" in message
    assert failure.value.__cause__ is None


def test_errors_and_logs_never_show_the_credentials_of_the_url(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = "https://user:s3cret@127.0.0.1:9/none.git"

    with caplog.at_level(logging.DEBUG), pytest.raises(GitopsError) as failure:
        publish(url, "main", FOLDER, [SECRET], "m", tmp_path / "work", timeout_seconds=10)

    message = str(failure.value)
    assert message.startswith("cloning https://***@127.0.0.1:9/none.git (branch main): ")
    assert "127.0.0.1" in message.partition(": ")[2]
    assert "s3cret" not in message
    assert "s3cret" not in repr(failure.value.args)
    assert "s3cret" not in caplog.text


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


def test_a_server_that_never_answers_fails_after_the_timeout_instead_of_hanging(
    tmp_path: Path, silent_server: int
) -> None:
    url = f"http://127.0.0.1:{silent_server}/gitops.git"
    started = time.monotonic()

    with pytest.raises(GitopsError) as failure:
        publish(url, "main", FOLDER, [SECRET], "m", tmp_path / "work", timeout_seconds=1)

    assert time.monotonic() - started < 15
    assert str(failure.value).startswith(f"cloning {url} (branch main): ")


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/clusters/c1/a.yaml", "is absolute"),
        (f"{FOLDER}/../c2/a.yaml", "contains '..'"),
        ("clusters/c2/a.yaml", "is outside the owned folder"),
        ("clusters/c10/a.yaml", "is outside the owned folder"),
        (FOLDER, "is outside the owned folder"),
        (f"{FOLDER}/.git/config", "is inside .git"),
    ],
)
def test_a_file_path_escaping_the_owned_folder_is_refused_before_any_git_work(
    bare: Path, tmp_path: Path, path: str, why: str
) -> None:
    with pytest.raises(GitopsError) as failure:
        _publish(bare, tmp_path / "work", [SECRET, RenderedFile(path, {"a": 1})])

    assert str(failure.value).startswith(f"checking files for {_url(bare)} (branch main): ")
    assert why in str(failure.value)
    assert not (tmp_path / "work").exists()
    assert not git.Repo(bare).heads


@pytest.mark.parametrize("folder", ["", ".", "/clusters", "../clusters", "clusters/.."])
def test_an_owned_folder_outside_the_repository_or_its_whole_root_is_refused(
    bare: Path, tmp_path: Path, folder: str
) -> None:
    with pytest.raises(GitopsError, match=r"^checking files for .*: owned folder"):
        publish(_url(bare), "main", folder, [], "m", tmp_path / "work")


def test_two_files_with_the_same_path_are_refused(bare: Path, tmp_path: Path) -> None:
    with pytest.raises(GitopsError, match="is given twice"):
        _publish(
            bare, tmp_path / "work", [SECRET, RenderedFile(f"{FOLDER}/./cluster-secret.yaml", {})]
        )


def test_an_invalid_branch_name_is_refused(bare: Path, tmp_path: Path) -> None:
    with pytest.raises(GitopsError, match=r"^checking the branch name for .* \(branch a\.\.b\)"):
        _publish(bare, tmp_path / "work", [SECRET], branch="a..b")


def test_a_symbolic_link_in_place_of_the_owned_folder_is_refused(
    bare: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    work = _identified(git.Repo.init(tmp_path / "linker", initial_branch="main"))
    (tmp_path / "linker" / "clusters").symlink_to(elsewhere)
    work.git.add(A=True)
    work.git.commit("-m", "link")
    work.git.push(_url(bare), "HEAD:refs/heads/main")

    with pytest.raises(GitopsError) as failure:
        _publish(bare, tmp_path / "work", [SECRET])

    assert str(failure.value).endswith("clusters is a symbolic link in the repository")
    assert list(elsewhere.iterdir()) == []


def test_a_damaged_workdir_clone_is_replaced_by_a_fresh_one(bare: Path, tmp_path: Path) -> None:
    first = _publish(bare, tmp_path / "work", [SECRET])
    clone = tmp_path / "work" / "clone"
    (clone / ".git" / "config").write_text("[this is not git config")
    (clone / "stray.txt").write_text("left over")

    again = _publish(bare, tmp_path / "work", [SECRET])

    assert again == Published("unchanged", first.commit, ())


def test_committing_ignores_the_machines_git_config(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    hooks = home / "hooks"
    hooks.mkdir(parents=True)
    for name in ("pre-commit", "commit-msg", "pre-push"):
        (hooks / name).write_text("#!/bin/sh\nexit 1\n")
        (hooks / name).chmod(0o755)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Someone Else\n\temail = else@example.com\n"
        "[commit]\n\tgpgsign = true\n"
        f"[core]\n\thooksPath = {hooks}\n\tautocrlf = true\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for name in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{name}_NAME", raising=False)
        monkeypatch.delenv(f"GIT_{name}_EMAIL", raising=False)

    published = _publish(bare, tmp_path / "work", [SECRET])

    commit = git.Repo(bare).commit(published.commit)
    assert (commit.author.name, commit.committer.name) == ("stackrun", "stackrun")
    assert not commit.gpgsig
    assert _tree(bare) == {SECRET.path: SECRET.text()}


def test_a_git_dir_inherited_from_the_caller_is_left_alone(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoy = _identified(git.Repo.init(tmp_path / "decoy", initial_branch="main"))
    (tmp_path / "decoy" / "mine.txt").write_text("mine\n")
    decoy.git.add(A=True)
    decoy.git.commit("-m", "mine")
    head = decoy.head.commit.hexsha
    with monkeypatch.context() as inherited:
        inherited.setenv("GIT_DIR", str(tmp_path / "decoy" / ".git"))
        inherited.setenv("GIT_WORK_TREE", str(tmp_path / "decoy"))
        inherited.setenv("GIT_INDEX_FILE", str(tmp_path / "decoy" / ".git" / "index"))
        published = _publish(bare, tmp_path / "work", [SECRET])

    assert published.commit == _head(bare)
    assert _tree(bare) == {SECRET.path: SECRET.text()}
    assert decoy.head.commit.hexsha == head
    assert decoy.git.status("--porcelain") == ""
    assert (tmp_path / "decoy" / "mine.txt").read_text() == "mine\n"
