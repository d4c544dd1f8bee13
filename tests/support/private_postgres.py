"""A PostgreSQL cluster of a test's own (initdb in a temporary folder, on a free loopback
port), so a fault test can stop and start it without touching the shared server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PrivatePostgres:
    bindir: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/stackrun"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                *args,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self._pg_ctl("-o", options, "-l", str(self.data / "server.log"), "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")


def available() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "a private PostgreSQL cluster needs root (initdb runs as the postgres user)"
    if not sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        return "PostgreSQL's server binaries are not installed"
    return None


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """In a folder of /tmp of its own (the postgres user cannot reach a root-only tmp_path)."""
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))[-1].parent
    root = Path(tempfile.mkdtemp(prefix="stackrun-pg-"))
    shutil.chown(root, "postgres")
    data = root / "data"
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(bindir / "initdb"),
            "-D",
            str(data),
            "--auth=trust",
            "-U",
            "postgres",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    cluster = PrivatePostgres(bindir, data, _free_port())
    cluster.start()
    try:
        admin = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute('CREATE DATABASE "stackrun"')
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
