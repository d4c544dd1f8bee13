"""Twenty concurrent approve/retry/trigger calls on one stack: never more than one
state-changing run is active."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "storm-secret"
ACTIVE = {"PREPARING", "INITIALIZING", "PLANNING", "UNCONFIRMED", "CONFIRMED", "APPLYING"}
STACK = "acme/platform/hot"


def _active(deployment: Deployment) -> list[int]:
    return [r["id"] for r in deployment.runs(stack=STACK, limit=1000) if r["state"] in ACTIVE]


def test_concurrent_calls_never_make_two_runs_of_a_stack_active(
    shared_services: Deployment, tmp_path: Path
) -> None:
    platform = GitPlatform(tmp_path / "git")
    shared_services.register(platform, SECRET)
    main_tf = 'resource "null_resource" "hot" {\n  triggers = { at = timestamp() }\n}\n'
    before, after = platform.commit({"hot/stackrun.hcl": "stack {}\n", "hot/main.tf": main_tf})
    assert shared_services.webhook(platform.push_body(before, after), SECRET).status_code == 202
    first = int(shared_services.wait(lambda: shared_services.runs(stack=STACK), "a run")[0]["id"])
    shared_services.wait_run_state(first, {"UNCONFIRMED"})

    # Nobody approves a run of a commit they triggered or retried: one approver reviews and
    # discards, another triggers and retries, both at once.
    reviewer = shared_services.token("approver")
    created = shared_services.cli(
        "tokens", "create", "--name", "storm-trigger", "--role", "approver"
    )
    triggerer = created.stdout.strip().splitlines()[-1]
    violations: list[list[int]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            active = _active(shared_services)
            if len(active) > 1:
                violations.append(active)
            time.sleep(0.05)

    def call(number: int) -> int:
        chooser = random.Random(number)
        action = chooser.choice(["approve", "retry", "trigger", "approve", "discard"])
        token = triggerer if action in ("retry", "trigger") else reviewer
        with httpx.Client(
            base_url=shared_services.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            runs = api.get("/api/v1/runs", params={"stack": STACK}).json()
            target = chooser.choice(runs)["id"]
            if action == "trigger":
                return api.post(f"/api/v1/stacks/{STACK}/runs").status_code
            return api.post(f"/api/v1/runs/{target}/{action}").status_code

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(call, range(20)))
    assert set(statuses) <= {200, 201, 409}, statuses

    def drained() -> bool:
        with shared_services.client("approver") as api:
            for run in shared_services.runs(stack=STACK, limit=1000):
                if run["state"] == "UNCONFIRMED":
                    api.post(f"/api/v1/runs/{run['id']}/approve")
        states = {r["state"] for r in shared_services.runs(stack=STACK, limit=1000)}
        return states <= {"FINISHED", "FAILED", "DISCARDED", "CANCELED", "SKIPPED", "STOPPED"}

    shared_services.wait(drained, "every run of the storm to end", timeout=300)
    stop.set()
    watcher.join(timeout=5)
    assert violations == []
    with shared_services.client() as api:
        assert api.get(f"/api/v1/stacks/{STACK}").json()["locked_by_run"] is None
