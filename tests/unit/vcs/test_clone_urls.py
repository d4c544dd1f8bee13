"""The clone URL rule (vcs/urls.py): what stackrun registers and fetches, and why not."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import git
import pytest

from orchestrator.vcs.urls import Local, Refused, Remote, classify, is_inside, refusal

REMOTE = [
    "https://github.com/acme/platform.git",
    "https://git.example.com:8443/group/sub/infra",
    "https://x-access-token:ghs_abc123@github.com/acme/platform.git",
    "ssh://git@github.com/acme/platform.git",
    "ssh://git@git.example.com:2222/acme/platform.git",
    "ssh://[::1]/srv/repo.git",
    "git@github.com:acme/platform.git",
    "deploy.bot@git.example.com:group/infra.git",
    "git@[2001:db8::1]:acme/p.git",
]

# (url, a word the reason must contain)
REFUSED = [
    ("ext::sh -c touch% /tmp/pwned", "remote helper"),
    ("ext::sh%20-c%20id", "remote helper"),
    ("fd::17", "remote helper"),
    ("transport::anything", "remote helper"),
    ("-uhttps://x", "'-'"),
    ("--upload-pack=touch /tmp/pwned", "'-'"),
    ("https://host/a b.git", "spaces"),
    ("--upload-pack=id", "'-'"),
    ("ssh://-oProxyCommand=id/x", "host"),
    ("ssh://-oProxyCommand=id@host/x", "host"),
    ("git@-oProxyCommand=id:x", "must be"),
    ("git@host:-x", "must be"),
    ("http://git.example.com/acme/p.git", "http://"),
    ("git://git.example.com/acme/p.git", "git://"),
    ("ftp://git.example.com/acme/p.git", "ftp://"),
    ("https://", "host"),
    ("https://github.com", "path"),
    ("https://github.com/", "path"),
    ("https://host:99999/x.git", "port"),
    ("https://[::1/x.git", "valid URL"),
    ("ssh://git:hunter2@host/x.git", "password"),
    ("github.com:acme/platform.git", "must be"),
    ("relative/path.git", "must be"),
    ("./repo.git", "must be"),
    ("file:/etc", "must be"),
    ("file://otherhost/srv/repo.git", "no host"),
    ("https://host/x\n.git", "control"),
    ("", "characters"),
    ("https://host/" + "a" * 3000, "characters"),
]


@pytest.mark.parametrize("url", REMOTE)
def test_https_ssh_and_scp_style_urls_are_remote(url: str) -> None:
    assert classify(url) == Remote(url)


@pytest.mark.parametrize(("url", "word"), REFUSED)
def test_other_urls_are_refused_with_the_rule(url: str, word: str) -> None:
    found = classify(url)
    assert isinstance(found, Refused), found
    assert word in found.reason


def test_a_refusal_never_repeats_the_url_it_may_carry_a_token() -> None:
    found = classify("ssh://git:hunter2-token@host/x.git")
    assert isinstance(found, Refused) and "hunter2" not in found.reason


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///srv/git/p.git", "/srv/git/p.git"),
        ("file://localhost/srv/git/p.git", "/srv/git/p.git"),
        ("file:///srv/a%20b/p.git", "/srv/a b/p.git"),
        ("/srv/git/p.git", "/srv/git/p.git"),
    ],
)
def test_file_urls_and_absolute_paths_are_local_as_git_reads_them(url: str, path: str) -> None:
    assert classify(url) == Local(path)


def _bare(path: Path) -> Path:
    git.Repo.init(path, bare=True, initial_branch="main")
    return path


def test_local_repositories_need_the_setting(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _bare(tmp_path / "p.git")
    reason = refusal(f"file://{tmp_path}/p.git", allow_local=False, data_dir=data)
    assert reason is not None and "STACKRUN_ALLOW_LOCAL_REPOSITORIES=true" in reason
    assert str(tmp_path) not in reason
    assert refusal(f"file://{tmp_path}/p.git", allow_local=True, data_dir=data) is None
    assert refusal("git@github.com:acme/p.git", allow_local=False, data_dir=data) is None


# Ways to name a place inside the data directory `<root>/state dir` (`<root>/link` points at it).
INSIDE = {
    "the directory": "{data}",
    "a mirror": "{data}/mirrors/1-acme_p.git",
    "file://localhost": "file://localhost{quoted}/mirrors/1-acme_p.git",
    "percent-encoded": "file://{quoted}/mirrors",
    "through ..": "{root}/elsewhere/../state dir/secret.key",
    "through a symlink": "{root}/link/mirrors/1-acme_p.git",
}


@pytest.mark.parametrize("name", INSIDE)
def test_nothing_inside_the_data_dir_is_a_repository_however_it_is_spelled(
    tmp_path: Path, name: str
) -> None:
    data = tmp_path / "state dir"
    (data / "mirrors").mkdir(parents=True)
    (tmp_path / "link").symlink_to(data)
    url = INSIDE[name].format(data=data, root=tmp_path, quoted=quote(str(data)))
    reason = refusal(url, allow_local=True, data_dir=data)
    assert reason is not None and "data directory" in reason
    assert str(tmp_path) not in reason


def test_a_symlinked_data_dir_is_resolved_too(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "mirrors").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(real)
    assert is_inside(str(real / "mirrors"), tmp_path / "alias")
    assert not is_inside(str(tmp_path / "real-sibling"), tmp_path / "alias")
    sibling = _bare(tmp_path / "real-sibling")
    assert refusal(str(sibling), allow_local=True, data_dir=real) is None


def test_a_local_path_must_hold_a_git_repository_and_says_so_alike(tmp_path: Path) -> None:
    """/etc and a path that does not exist get the same answer: no oracle of the disk."""
    work = git.Repo.init(tmp_path / "work", initial_branch="main")
    data = tmp_path / "data"
    assert refusal(str(work.working_dir), allow_local=True, data_dir=data) is None
    answers = {refusal(url, allow_local=True, data_dir=data) for url in ("file:///etc", "/nope")}
    assert answers == {"clone_url names no git repository on this machine: give the path of one"}
