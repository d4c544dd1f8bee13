"""A sync's fetch is bounded: git against a host that never answers is killed and reported,
and a local repository is cloned and fetched as usual."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from orchestrator.vcs.mirror import Mirror, VcsError


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never says anything."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"https://127.0.0.1:{server.getsockname()[1]}/acme/platform.git"
    server.close()
    for connection in held:
        connection.close()


def test_a_clone_from_a_host_that_never_answers_is_killed_after_the_timeout(
    silent_server: str, tmp_path: Path
) -> None:
    mirror = Mirror(tmp_path / "mirror.git", silent_server)
    with pytest.raises(VcsError, match=r"fetching https://127\.0\.0\.1"):
        mirror.refresh(timeout=2)
    assert not (tmp_path / "mirror.git").exists()


def test_a_bounded_refresh_clones_then_fetches_a_local_repository(tmp_path: Path) -> None:
    source = git.Repo.init(tmp_path / "src", initial_branch="main")
    with source.config_writer() as config:
        config.set_value("user", "name", "A")
        config.set_value("user", "email", "a@example.com")
    (tmp_path / "src" / "f").write_text("1\n")
    source.git.add(A=True)
    source.git.commit("-m", "one")
    mirror = Mirror(tmp_path / "mirror.git", f"file://{tmp_path / 'src'}")
    mirror.refresh(timeout=30)
    assert mirror.branch_head("main") == source.head.commit.hexsha
    (tmp_path / "src" / "f").write_text("2\n")
    source.git.commit("-am", "two")
    mirror.refresh(timeout=30)
    assert mirror.branch_head("main") == source.head.commit.hexsha
