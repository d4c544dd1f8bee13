"""moto's standalone server (`moto_server`) on a free loopback port: real HTTP AWS APIs for
tests (S3, KMS, STS), started as a subprocess and stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx

REGION = "eu-west-1"
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MotoServer:
    url: str
    region: str = REGION
    pid: int = 0  # the server's process (its own group): a test may take it down

    def client(self, service: str, **credentials: str) -> Any:
        """A boto3 client of `service` talking to this server."""
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=credentials.get("access_key", ACCESS_KEY),
            aws_secret_access_key=credentials.get("secret_key", SECRET_KEY),
            aws_session_token=credentials.get("session_token"),
        )

    def env(self) -> dict[str, str]:
        """Environment for a process that should reach this server with boto3."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.url,
        }

    def reset(self) -> None:
        """Forget every bucket, key and role (moto's reset API)."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()


@contextmanager
def moto_server(log: Path) -> Iterator[MotoServer]:
    """Start `moto_server` on 127.0.0.1:<free port>; the log goes to `log`."""
    port = _free_port()
    binary = Path(sys.executable).parent / "moto_server"
    env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    server = MotoServer(f"http://127.0.0.1:{port}", pid=process.pid)
    try:
        _wait_ready(server, process, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(server: MotoServer, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited early:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/moto-api/", timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"moto_server did not answer within 30 s:\n{log.read_text()[-2000:]}")
