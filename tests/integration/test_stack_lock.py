"""One state-changing run per stack; a newer commit supersedes; run actions end runs cleanly."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "lock-test-secret"
TEMPLATE = 'resource "null_resource" "vpc" {\n  triggers = { v = "VERSION" }\n}\n'
SLOW_PLAN = 'resource "null_resource" "many" {\n  count = 20000\n}\n'


@pytest.fixture(scope="module")
def platform(shared_services: Deployment, tmp_path_factory: pytest.TempPathFactory) -> GitPlatform:
    repo = GitPlatform(tmp_path_factory.mktemp("git"))
    shared_services.register(repo, SECRET)
    return repo


def _push(deployment: Deployment, platform: GitPlatform, files: dict[str, str]) -> int:
    before, after = platform.commit(files)
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
    found = deployment.wait(
        lambda: [r for r in deployment.runs() if r["commit"]["sha"] == after], f"run of {after}"
    )
    return int(found[0]["id"])


def _vpc(version: str) -> dict[str, str]:
    return {"vpc/stackrun.hcl": "stack {}\n", "vpc/main.tf": TEMPLATE.replace("VERSION", version)}


def _post(deployment: Deployment, path: str, role: str = "approver", **body: Any) -> Any:
    with deployment.client(role) as api:
        return api.post(path, json=body or None)


def test_a_newer_commit_supersedes_the_unconfirmed_run_which_can_no_longer_be_approved(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    first = _push(shared_services, platform, _vpc("1"))
    shared_services.wait_run_state(first, {"UNCONFIRMED"})
    second = _push(shared_services, platform, _vpc("2"))
    shared_services.wait_run_state(second, {"UNCONFIRMED"})
    old = shared_services.run(first)
    assert old["state"] == "DISCARDED"
    assert old["history"][-1]["reason"] == f"superseded by run {second}"
    refused = _post(shared_services, f"/api/v1/runs/{first}/approve")
    assert refused.status_code == 409 and "is DISCARDED" in refused.json()["detail"]
    assert _post(shared_services, f"/api/v1/runs/{second}/discard").status_code == 200


def test_a_manual_run_waits_for_the_lock_and_can_be_canceled_while_queued(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    holder = _push(shared_services, platform, _vpc("3"))
    shared_services.wait_run_state(holder, {"UNCONFIRMED"})
    manual = _post(shared_services, "/api/v1/stacks/acme/platform/vpc/runs")
    assert manual.status_code == 201, manual.text
    waiting = int(manual.json()["id"])
    shared_services.wait(
        lambda: f"run={waiting} waits" in shared_services.worker_logs(),
        "a worker to take the doorbell and find the stack locked",
    )
    assert shared_services.run(waiting)["state"] == "QUEUED"
    unlock = _post(shared_services, "/api/v1/stacks/acme/platform/vpc/unlock", role="admin")
    assert unlock.status_code == 409 and f"run {holder}" in unlock.json()["detail"]
    canceled = _post(shared_services, f"/api/v1/runs/{waiting}/cancel", comment="not now")
    assert canceled.status_code == 200, canceled.text
    assert shared_services.run(waiting)["state"] == "CANCELED"
    assert _post(shared_services, f"/api/v1/runs/{holder}/discard").status_code == 200
    with shared_services.client() as api:
        assert api.get("/api/v1/stacks/acme/platform/vpc").json()["locked_by_run"] is None


def test_stopping_a_planning_run_interrupts_terraform_and_frees_the_stack(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    run_id = _push(
        shared_services, platform, {"slow/stackrun.hcl": "stack {}\n", "slow/main.tf": SLOW_PLAN}
    )
    shared_services.wait_run_state(run_id, {"PLANNING"})
    stopped = _post(shared_services, f"/api/v1/runs/{run_id}/stop")
    assert stopped.status_code == 200, stopped.text
    run = shared_services.run(run_id)
    assert run["state"] == "STOPPED", run
    again = _post(shared_services, f"/api/v1/runs/{run_id}/stop")
    assert again.status_code == 409
    with shared_services.client() as api:
        assert api.get("/api/v1/stacks/acme/platform/slow").json()["locked_by_run"] is None
    manual = _post(shared_services, "/api/v1/stacks/acme/platform/slow/runs")
    assert manual.status_code == 201, manual.text
    shared_services.wait_run_state(int(manual.json()["id"]), {"UNCONFIRMED"}, timeout=180)
    log = shared_services.logs_of(run_id)
    # Stopped: terraform gets SIGINT, or, if it reaches the state first, the stopped run's
    # credential no longer opens it (plans of managed state take no lock, so GET refuses).
    stopped_by = (
        "sending SIGINT to terraform",
        "Error acquiring the state lock",
        "HTTP remote state endpoint requires auth",
    )
    assert any(reason in log for reason in stopped_by), log


def test_retrying_a_failed_run_creates_a_new_run_at_the_same_commit(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    broken = {
        "bad/stackrun.hcl": "stack {}\n",
        "bad/main.tf": 'resource "null_resource" "x" {\n  triggers = { a = var.nope }\n}\n',
    }
    failed = _push(shared_services, platform, broken)
    shared_services.wait(lambda: shared_services.run(failed)["state"] == "FAILED", "FAILED")
    retried = _post(shared_services, f"/api/v1/runs/{failed}/retry")
    assert retried.status_code == 200, retried.text
    new_id = int(retried.json()["id"])
    assert new_id != failed
    shared_services.wait(lambda: shared_services.run(new_id)["state"] == "FAILED", "FAILED")
    new = shared_services.run(new_id)
    assert new["commit"]["sha"] == shared_services.run(failed)["commit"]["sha"]
    assert new["trigger_reason"] == f"retry of run {failed}"
    assert _post(shared_services, f"/api/v1/runs/{new_id}/cancel").status_code == 409
