"""kill -9 of the worker during an apply, with separate api, worker and beat processes on
PostgreSQL and Redis: the run fails worker_lost, is never applied again, its downstream run is
SKIPPED naming it, and the stack stays locked until an admin unlocks it."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import reaping_deployment
from tests.integration.harness import Deployment, GitPlatform, spawn, task_totals
from tests.integration.invariants import assert_invariants, settled
from tests.support.apply_counter import ApplyCounter

pytestmark = pytest.mark.integration

SECRET = "worker-lost-secret"
LEASE_SECONDS = 8


@pytest.fixture
def deployment(tmp_path: Path, tf_cli_config: Path) -> Iterator[Deployment]:
    with reaping_deployment(tmp_path / "stackrun", tf_cli_config, LEASE_SECONDS) as running:
        yield running


@pytest.fixture
def counter() -> Iterator[ApplyCounter]:
    with ApplyCounter() as running:
        yield running


def _platform(counter: ApplyCounter) -> dict[str, str]:
    """net (a slow apply) → app, which takes net's id as an input; both autodeploy."""
    return {
        "net/stackrun.hcl": "stack {\n  autodeploy = true\n}\n",
        "net/main.tf": (
            'resource "null_resource" "slow" {\n'
            f'  provisioner "local-exec" {{\n    command = "{counter.mark("net")} && sleep 30"\n'
            "  }\n}\n"
            'output "id" {\n  value = null_resource.slow.id\n}\n'
        ),
        "app/stackrun.hcl": (
            "stack {\n  autodeploy = true\n"
            '  input "net_id" {\n    stack  = "../net"\n    output = "id"\n  }\n}\n'
        ),
        "app/main.tf": (
            'variable "net_id" {\n  default = ""\n}\n'
            'resource "null_resource" "app" {\n  triggers = { net = var.net_id }\n'
            f'  provisioner "local-exec" {{\n    command = "{counter.mark("app")}"\n  }}\n}}\n'
        ),
    }


def _kill_the_worker_during_the_apply(
    deployment: Deployment, counter: ApplyCounter, tmp_path: Path
) -> tuple[int, int, float]:
    """Push net → app, SIGKILL the worker (and its pool) once net's apply runs, start another
    worker: (net's run, app's run, when the worker died)."""
    platform = GitPlatform(tmp_path / "git")
    deployment.register(platform, SECRET)
    before, after = platform.commit(_platform(counter))
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
    deployment.wait(lambda: counter.count("net") == 1, "net's apply to start", timeout=120)
    runs = {r["stack"].rsplit("/", 1)[-1]: int(r["id"]) for r in deployment.runs()}
    assert deployment.run(runs["net"])["state"] == "APPLYING"

    worker = deployment.processes[1]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    killed_at = time.monotonic()
    deployment.processes.append(
        spawn(
            [sys.executable, "-m", "orchestrator.cli", "worker", "--name", "second"],
            deployment.env,
            tmp_path / "worker-2.log",
        )
    )
    return runs["net"], runs["app"], killed_at


def test_a_killed_worker_fails_the_apply_once_skips_downstream_and_keeps_the_lock(
    deployment: Deployment, counter: ApplyCounter, tmp_path: Path
) -> None:
    net, app, killed_at = _kill_the_worker_during_the_apply(deployment, counter, tmp_path)

    failed = deployment.wait(
        lambda: (r := deployment.run(net))["state"] == "FAILED" and r,
        "the reaper to fail the run",
        timeout=2 * LEASE_SECONDS - (time.monotonic() - killed_at),
    )
    assert failed["failure_reason"] == "worker_lost"
    skipped = deployment.wait(
        lambda: (r := deployment.run(app))["state"] != "QUEUED" and r, "app to leave QUEUED", 10
    )
    assert skipped["state"] == "SKIPPED"
    assert skipped["history"][-1]["reason"] == f"upstream run {net} ended FAILED"

    with deployment.client("approver") as api:
        manual = api.post("/api/v1/stacks/acme/platform/net/runs")
    assert manual.status_code == 201, manual.text
    waiting = int(manual.json()["id"])
    reaped = task_totals(deployment.env).get("stackrun.reap", 0)
    deployment.wait(  # the reaper's own lines are DEBUG (a quiet terminal): ask the workers
        lambda: task_totals(deployment.env).get("stackrun.reap", 0) >= reaped + 5,
        "the reaper to run a few more times (time for a wrong re-apply to show)",
        timeout=30,
    )
    with deployment.client() as api:
        assert api.get("/api/v1/stacks/acme/platform/net").json()["locked_by_run"] == net
        assert deployment.run(waiting)["state"] == "QUEUED"
        assert counter.count("net") == 1, "a lost apply is never run again"
        assert counter.count("app") == 0, "nothing downstream of a lost apply is applied"
        unlocked = api.post("/api/v1/stacks/acme/platform/net/unlock")
    assert unlocked.status_code == 200, unlocked.text
    deployment.wait(lambda: deployment.run(waiting)["state"] != "QUEUED", "the waiting run")
    with deployment.client() as api:
        audit = api.get("/api/v1/audit").json()
    assert any(
        a["action"] == "stack.unlock" and a["target"] == "stack:acme/platform/net" for a in audit
    )
    settled(deployment, 3)  # the waiting run, an autodeploy, applies net as a run of its own
    assert_invariants(deployment, counter)
