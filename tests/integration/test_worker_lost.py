"""kill -9 of the worker during an apply: the run fails worker_lost, is never applied again,
and the stack stays locked until an admin unlocks it."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform, spawn, start_services
from tests.support.counter import HitCounter, hit_counter

pytestmark = pytest.mark.integration

SECRET = "worker-lost-secret"
LEASE_SECONDS = 6


@pytest.fixture
def deployment(tmp_path: Path, tf_cli_config: Path) -> Iterator[Deployment]:
    settings = {"STACKRUN_LEASE_SECONDS": str(LEASE_SECONDS), "STACKRUN_REAP_SECONDS": "2"}
    with fresh_postgres_database() as url:
        running = start_services(
            tmp_path / "stackrun",
            tf_cli_config,
            url,
            flushed_redis(),
            beat=True,
            extra_env=settings,
        )
        yield running
        running.stop()


@pytest.fixture
def counter() -> Iterator[HitCounter]:
    with hit_counter() as running:
        yield running


def _applies(counter: HitCounter) -> int:
    return counter.count("applied")


def test_a_killed_worker_fails_the_apply_once_and_keeps_the_stack_locked(
    deployment: Deployment, tmp_path: Path, counter: HitCounter
) -> None:
    platform = GitPlatform(tmp_path / "git")
    deployment.register(platform, SECRET)
    main_tf = (
        'resource "null_resource" "slow" {\n'
        f'  provisioner "local-exec" {{\n    command = "{counter.command("applied")}; sleep 30"\n'
        "  }\n}\n"
    )
    before, after = platform.commit(
        {"db/stackrun.hcl": "stack {\n  autodeploy = true\n}\n", "db/main.tf": main_tf}
    )
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
    deployment.wait(lambda: _applies(counter) == 1, "the apply to start", timeout=120)
    run_id = int(deployment.runs()[0]["id"])
    assert deployment.run(run_id)["state"] == "APPLYING"

    worker = deployment.processes[1]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    replacement = spawn(
        [sys.executable, "-m", "orchestrator.cli", "worker", "--name", "second"],
        deployment.env,
        tmp_path / "worker-2.log",
    )
    deployment.processes.append(replacement)

    failed = deployment.wait(
        lambda: (r := deployment.run(run_id))["state"] == "FAILED" and r,
        "the reaper to fail the run",
        timeout=2 * LEASE_SECONDS + 10,
    )
    assert failed["failure_reason"] == "worker_lost"

    replacement = spawn(
        [sys.executable, "-m", "orchestrator.cli", "worker", "--name", "second"],
        deployment.env,
        tmp_path / "worker-2.log",
    )
    deployment.processes.append(replacement)
    with deployment.client("approver") as api:
        manual = api.post("/api/v1/stacks/acme/platform/db/runs")
    assert manual.status_code == 201, manual.text
    waiting = int(manual.json()["id"])
    deployment.wait(lambda: "ready" in (tmp_path / "worker-2.log").read_text(), "a new worker")
    with deployment.client() as api:
        assert api.get("/api/v1/stacks/acme/platform/db").json()["locked_by_run"] == run_id
        assert deployment.run(waiting)["state"] == "QUEUED"
        assert _applies(counter) == 1, "a lost apply is never run again"
        unlocked = api.post("/api/v1/stacks/acme/platform/db/unlock")
    assert unlocked.status_code == 200, unlocked.text
    deployment.wait(lambda: deployment.run(waiting)["state"] != "QUEUED", "the waiting run")
    with deployment.client() as api:
        audit = api.get("/api/v1/audit").json()
    assert any(
        a["action"] == "stack.unlock" and a["target"] == "stack:acme/platform/db" for a in audit
    )
