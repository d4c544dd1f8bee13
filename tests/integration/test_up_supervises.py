"""`stackrun up` supervises its API, worker and beat on embedded defaults: a worker killed
mid-apply is started again while the API keeps answering and the reaper fails the lost apply;
a child that keeps crashing stops everything; a taken port stops `up` before it says it is up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import Deployment, GitPlatform, base_env, free_port, start_embedded
from tests.integration.invariants import assert_invariants
from tests.support.apply_counter import ApplyCounter

pytestmark = pytest.mark.integration

SECRET = "up-supervises-secret"
LEASE_SECONDS = 8
STARTED = re.compile(r"started child=(\w+) pid=(\d+)")


@pytest.fixture
def counter() -> Iterator[ApplyCounter]:
    with ApplyCounter() as running:
        yield running


@pytest.fixture
def up(tmp_path: Path, tf_cli_config: Path) -> Iterator[Deployment]:
    settings = {"STACKRUN_LEASE_SECONDS": str(LEASE_SECONDS), "STACKRUN_REAP_SECONDS": "1"}
    deployment = start_embedded(tmp_path / "stackrun", tf_cli_config, settings)
    yield deployment
    deployment.stop()


def _started(output: str, name: str) -> list[int]:
    """The pids of `name`, in the order the supervisor started them."""
    return [int(pid) for child, pid in STARTED.findall(output) if child == name]


def _slow_apply(deployment: Deployment, counter: ApplyCounter, tmp_path: Path) -> int:
    """An autodeploy stack whose apply marks the counter, then sleeps: its run, APPLYING."""
    platform = GitPlatform(tmp_path / "git")
    deployment.register(platform, SECRET)
    main_tf = (
        'resource "null_resource" "slow" {\n'
        f'  provisioner "local-exec" {{\n    command = "{counter.mark("db")} && sleep 30"\n'
        "  }\n}\n"
    )
    before, after = platform.commit(
        {"db/stackrun.hcl": "stack {\n  autodeploy = true\n}\n", "db/main.tf": main_tf}
    )
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
    deployment.wait(lambda: counter.count("db") == 1, "the apply to start", timeout=120)
    run_id = int(deployment.runs()[0]["id"])
    assert deployment.run(run_id)["state"] == "APPLYING"
    return run_id


def test_up_restarts_a_killed_worker_while_the_api_answers_and_the_apply_fails_lost(
    up: Deployment, counter: ApplyCounter, tmp_path: Path
) -> None:
    log = up.logs[0]
    run_id = _slow_apply(up, counter, tmp_path)
    (worker,) = _started(log.read_text(), "worker")
    os.killpg(worker, signal.SIGKILL)
    killed_at = time.monotonic()
    unanswered: list[str] = []

    def api_answers() -> None:
        try:
            status = httpx.get(f"{up.url}/healthz", timeout=2).status_code
        except httpx.HTTPError as exc:
            unanswered.append(repr(exc))
        else:
            if status != 200:
                unanswered.append(f"status {status}")

    def worker_back() -> bool:
        api_answers()
        output = log.read_text()
        return len(_started(output, "worker")) == 2 and output.count(" ready.") == 2

    up.wait(worker_back, "the worker to be back", timeout=10 - (time.monotonic() - killed_at))

    def lost() -> dict[str, object] | None:
        api_answers()
        run = up.run(run_id)
        return run if run["state"] == "FAILED" else None

    failed = up.wait(
        lost, "the lost apply to fail", 2 * LEASE_SECONDS - (time.monotonic() - killed_at)
    )
    assert failed["failure_reason"] == "worker_lost"
    assert unanswered == [], "the API answers while the worker restarts"
    assert f"child=worker pid={worker} exited (killed by SIGKILL (signal 9))" in log.read_text()
    with up.client() as api:
        assert api.get("/api/v1/stacks/acme/platform/db").json()["locked_by_run"] == run_id
    assert counter.count("db") == 1, "a lost apply is never run again"
    assert_invariants(up, counter)


def _up(
    tmp_path: Path, tf_cli_config: Path, port: int, timeout: float = 180, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {**base_env(tmp_path / "stackrun", port, tf_cli_config), **settings}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "up", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_up_stops_everything_and_fails_after_five_crashes_in_a_minute(
    tmp_path: Path, tf_cli_config: Path
) -> None:
    """A log level celery refuses makes the worker and beat exit 2 at each start."""
    port = free_port()
    ended = _up(tmp_path, tf_cli_config, port, STACKRUN_LOG_LEVEL="bogus")
    assert ended.returncode == 1, ended.stderr
    assert "crashed 5 times within 60 s (last: exit status 2)" in ended.stderr
    restarts = re.findall(r"child=(?:worker|beat) pid=\d+ exited \(exit status 2\)", ended.stderr)
    assert len(restarts) >= 5
    for _name, pid in STARTED.findall(ended.stderr):
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_up_with_its_port_taken_fails_without_saying_it_is_up(
    tmp_path: Path, tf_cli_config: Path
) -> None:
    """The port is held by a server that answers /healthz with 200, as another stackrun would;
    `up` ends within 10 s (subprocess's timeout raises otherwise)."""
    with ApplyCounter() as squatter:
        assert httpx.get(f"http://127.0.0.1:{squatter.port}/healthz").status_code == 200
        ended = _up(tmp_path, tf_cli_config, squatter.port, timeout=10)
    assert ended.returncode != 0
    output = ended.stdout + ended.stderr
    assert "is up" not in output
    assert f"starting the API on 127.0.0.1:{squatter.port}: Address already in use" in output
    assert "started child" not in output
