"""Real parts for integration tests: git repositories, stackrun processes, an API client."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git
import httpx

ZERO = "0" * 40
TERMINAL = {"FINISHED", "FAILED", "DISCARDED", "CANCELED", "SKIPPED", "STOPPED"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GitPlatform:
    """A bare repository served over file:// and a working clone to push from."""

    def __init__(self, root: Path, name: str = "acme/platform") -> None:
        self.name = name
        self.bare = root / "remote.git"
        self.work = root / "work"
        git.Repo.init(self.bare, bare=True, initial_branch="main")
        self.repo = git.Repo.init(self.work, initial_branch="main")
        self.repo.create_remote("origin", str(self.bare))
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "Dev One")
            config.set_value("user", "email", "dev1@example.com")
        self.head = ZERO

    @property
    def clone_url(self) -> str:
        return f"file://{self.bare}"

    def commit(self, files: Mapping[str, str], message: str = "change") -> tuple[str, str]:
        """Write files, commit, push to main; returns (before, after)."""
        for path, text in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.repo.git.add(A=True)
        self.repo.index.commit(message)
        self.repo.git.push("origin", "main")
        before, self.head = self.head, self.repo.head.commit.hexsha
        return before, self.head

    def commit_on(self, branch: str, files: Mapping[str, str], base: str = "main") -> str:
        """Commit `files` on `branch` (created from `base` when new) and push it; main stays."""
        repo = self.repo
        if branch in [h.name for h in repo.heads]:
            repo.git.checkout(branch)
        else:
            repo.git.checkout("-b", branch, base)
        for path, content in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        repo.git.add(A=True)
        repo.index.commit(f"change on {branch}")
        repo.git.push("--force", "origin", branch)
        sha = repo.head.commit.hexsha
        repo.git.checkout("main")
        return sha

    def push_body(
        self, before: str, after: str, pusher: str = "dev1", branch: str = "main"
    ) -> bytes:
        return json.dumps(
            {
                "ref": f"refs/heads/{branch}",
                "before": before,
                "after": after,
                "created": before == ZERO,
                "deleted": False,
                "forced": False,
                "repository": {"full_name": self.name, "clone_url": self.clone_url},
                "pusher": {"name": pusher},
                "sender": {"login": pusher},
            }
        ).encode()


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Deployment:
    """A running stackrun (API + a real celery worker) reachable over HTTP."""

    url: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]
    admin_token: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def token(self, role: str) -> str:
        if role not in self.tokens:
            name = f"{role}-{uuid.uuid4().hex[:6]}"
            self.tokens[role] = (
                self.cli("tokens", "create", "--name", name, "--role", role)
                .stdout.strip()
                .splitlines()[-1]
            )
        return self.tokens[role]

    def client(self, role: str = "admin") -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.token(role)}"}
        )

    def webhook(
        self,
        body: bytes,
        secret: str | None,
        delivery: str | None = None,
        event: str = "push",
        signature: str | None = None,
    ) -> httpx.Response:
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        elif secret is not None:
            headers["X-Hub-Signature-256"] = github_signature(secret, body)
        return httpx.post(f"{self.url}/webhooks/github", content=body, headers=headers, timeout=30)

    def webhook_gitlab(
        self, body: bytes, token: str, event: str = "Merge Request Hook"
    ) -> httpx.Response:
        headers = {
            "X-Gitlab-Event": event,
            "X-Gitlab-Token": token,
            "X-Gitlab-Event-UUID": str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        return httpx.post(f"{self.url}/webhooks/gitlab", content=body, headers=headers, timeout=30)

    def register(self, platform: GitPlatform, secret: str) -> dict[str, Any]:
        with self.client() as api:
            response = api.post(
                "/api/v1/repositories",
                json={
                    "name": platform.name,
                    "clone_url": platform.clone_url,
                    "branch": "main",
                    "provider": "github",
                    "webhook_secret": secret,
                },
            )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def register_with_cli(self, platform: GitPlatform, secret: str) -> None:
        """`stackrun repos add` as a user would type it; the secret comes from the environment."""
        env = {
            **self.env,
            "STACKRUN_URL": self.url,
            "STACKRUN_TOKEN": self.token("admin"),
            "STACKRUN_WEBHOOK_SECRET": secret,
        }
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "orchestrator.cli",
                "repos",
                "add",
                "--name",
                platform.name,
                "--clone-url",
                platform.clone_url,
                "--branch",
                "main",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        assert secret not in completed.stdout

    def runs(self, **params: Any) -> list[dict[str, Any]]:
        with self.client() as api:
            response = api.get("/api/v1/runs", params=params)
        assert response.status_code == 200, response.text
        return list(response.json())

    def run(self, run_id: int) -> dict[str, Any]:
        with self.client() as api:
            response = api.get(f"/api/v1/runs/{run_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def logs_of(self, run_id: int) -> str:
        with self.client() as api:
            return api.get(f"/api/v1/runs/{run_id}/logs").text

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.tail()}")

    def wait_run_state(self, run_id: int, states: set[str], timeout: float = 120) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            run = self.run(run_id)
            if run["state"] in states:
                return run
            if run["state"] in TERMINAL:
                raise AssertionError(
                    f"run {run_id} ended {run['state']}: "
                    f"{run['failure_reason']}\n{self.logs_of(run_id)}"
                )
            return None

        return dict(self.wait(reached, f"run {run_id} to reach {states}", timeout))

    def worker_logs(self) -> str:
        return "\n".join(p.read_text() for p in self.logs if "worker" in p.name and p.exists())

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.logs if p.exists())

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_healthy(deployment: Deployment, timeout: float = 60) -> None:
    def healthy() -> bool:
        for process in deployment.processes:
            if process.poll() is not None:
                raise AssertionError(f"a stackrun process exited early\n{deployment.tail()}")
        try:
            return httpx.get(f"{deployment.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    deployment.wait(healthy, "stackrun to become ready", timeout)


def base_env(data_dir: Path, port: int, tf_cli_config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKRUN_")}
    env.update(
        {
            "STACKRUN_DATA_DIR": str(data_dir),
            "STACKRUN_API_URL": f"http://127.0.0.1:{port}",
            # The test repositories are bare repositories on disk, served over file://.
            "STACKRUN_ALLOW_LOCAL_REPOSITORIES": "true",
            "TF_CLI_CONFIG_FILE": str(tf_cli_config),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_services(
    data_dir: Path,
    tf_cli_config: Path,
    database_url: str,
    broker_url: str,
    workers: int = 1,
    beat: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Deployment:
    """API and real `celery worker` processes (2 slots each) on PostgreSQL and Redis."""
    port = free_port()
    env = base_env(data_dir, port, tf_cli_config)
    env.update({"STACKRUN_DATABASE_URL": database_url, "STACKRUN_BROKER_URL": broker_url})
    env.update(extra_env or {})
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    logs = [data_dir / "api.log", *(data_dir / f"worker-{n}.log" for n in range(workers))]
    processes = [
        spawn([sys.executable, "-m", "orchestrator.cli", "api", "--port", str(port)], env, logs[0])
    ]
    for number in range(workers):
        processes.append(
            spawn(
                [
                    sys.executable,
                    "-m",
                    "orchestrator.cli",
                    "worker",
                    "--concurrency",
                    "2",
                    "--name",
                    f"worker-{number}",
                ],
                env,
                logs[1 + number],
            )
        )
    if beat:
        logs.append(data_dir / "beat.log")
        processes.append(spawn([sys.executable, "-m", "orchestrator.cli", "beat"], env, logs[-1]))
    deployment = Deployment(f"http://127.0.0.1:{port}", env, processes, logs)
    wait_healthy(deployment)
    return deployment


def start_embedded(
    data_dir: Path, tf_cli_config: Path, extra_env: dict[str, str] | None = None
) -> Deployment:
    """`stackrun up` on embedded defaults: SQLite and the filesystem broker."""
    port = free_port()
    env = base_env(data_dir, port, tf_cli_config)
    env.update(extra_env or {})
    data_dir.mkdir(parents=True, exist_ok=True)
    logs = [data_dir / "up.log"]
    processes = [
        spawn([sys.executable, "-m", "orchestrator.cli", "up", "--port", str(port)], env, logs[0])
    ]
    deployment = Deployment(f"http://127.0.0.1:{port}", env, processes, logs)
    wait_healthy(deployment)
    return deployment


def task_totals(env: dict[str, str]) -> dict[str, int]:
    """How many times each Celery task ran, over every worker (`celery inspect stats`)."""
    stats = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app", "inspect", "stats", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(stats.stdout.strip().splitlines()[-1])
    totals: dict[str, int] = {}
    for worker in answer.values():
        for name, count in worker.get("total", {}).items():
            totals[name] = totals.get(name, 0) + int(count)
    return totals
