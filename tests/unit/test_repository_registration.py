"""Registering a repository applies the clone URL rule with this deployment's settings, and a
stored URL the rule now refuses is never fetched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.models import Repository
from orchestrator.settings import get_settings
from orchestrator.vcs.mirror import VcsError


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data = tmp_path / "data"
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(data))
    monkeypatch.delenv("STACKRUN_ALLOW_LOCAL_REPOSITORIES", raising=False)
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def _allow_local(monkeypatch: pytest.MonkeyPatch, allowed: bool) -> None:
    monkeypatch.setenv("STACKRUN_ALLOW_LOCAL_REPOSITORIES", "true" if allowed else "false")
    get_settings.cache_clear()


def _register(db: Session, clone_url: str) -> Repository | repos.RepositoryRefused:
    return repos.register(
        db, name="acme/p", clone_url=clone_url, branch="main", provider="github", secret="s" * 12
    )


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Repository)) or 0)


@pytest.mark.parametrize(
    "url", ["ext::sh -c touch% /tmp/pwned", "file:///etc", "-uhttps://x", "/srv/git/p.git"]
)
def test_a_refused_clone_url_is_422_with_the_rule_and_registers_nothing(
    db: Session, data_dir: Path, url: str
) -> None:
    refused = _register(db, url)
    assert isinstance(refused, repos.RepositoryRefused)
    assert refused.status == 422 and refused.reason.startswith("registering 'acme/p': clone_url")
    assert str(data_dir) not in refused.reason
    assert _count(db) == 0


def test_local_repositories_register_only_with_the_setting_and_outside_the_data_dir(
    db: Session, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git.Repo.init(tmp_path / "remote.git", bare=True, initial_branch="main")
    outside = f"file://{tmp_path}/remote.git"
    assert isinstance(_register(db, outside), repos.RepositoryRefused)
    _allow_local(monkeypatch, True)
    inside = _register(db, f"file://{data_dir}/mirrors/1-other.git")
    assert isinstance(inside, repos.RepositoryRefused) and "data directory" in inside.reason
    assert isinstance(_register(db, outside), Repository)


def test_a_stored_url_now_refused_fails_the_fetch_with_the_rule(
    db: Session, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registered while local repositories were allowed; the setting is off now."""
    bare = tmp_path / "remote.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    _allow_local(monkeypatch, True)
    repository = _register(db, f"file://{bare}")
    assert isinstance(repository, Repository)
    repos.mirror_for(repository).refresh()
    _allow_local(monkeypatch, False)
    mirror = repos.mirror_for(repository)
    with pytest.raises(VcsError, match="STACKRUN_ALLOW_LOCAL_REPOSITORIES=true") as failure:
        mirror.ensure_commit("a" * 40)
    assert str(tmp_path) not in str(failure.value)


def test_a_stored_helper_url_is_never_fetched(db: Session, data_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    repository = Repository(
        id=7,
        name="acme/old",
        clone_url=f"ext::sh -c touch% {marker}",
        branch="main",
        provider="github",
        webhook_secret_enc=b"x",
    )
    with pytest.raises(VcsError, match="remote helper"):
        repos.mirror_for(repository).refresh()
    assert not marker.exists()
