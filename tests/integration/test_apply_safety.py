"""Apply uses exactly the approved plan: a plan file changed after planning is never applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "apply-safety-secret"


def test_a_plan_file_changed_after_planning_fails_the_apply_and_touches_nothing(
    shared_services: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"))
    shared_services.register(platform, SECRET)
    before, after = platform.commit(
        {"db/stackrun.hcl": "stack {}\n", "db/main.tf": 'resource "null_resource" "db" {}\n'}
    )
    assert shared_services.webhook(platform.push_body(before, after), SECRET).status_code == 202
    run_id = int(
        shared_services.wait(lambda: shared_services.runs(stack="acme/platform/db"), "a run")[0][
            "id"
        ]
    )
    shared_services.wait_run_state(run_id, {"UNCONFIRMED"})

    plan_file = (
        Path(shared_services.env["STACKRUN_DATA_DIR"])
        / "artifacts"
        / "runs"
        / str(run_id)
        / "plan.tfplan"
    )
    plan_file.write_bytes(plan_file.read_bytes() + b"tampered")

    with shared_services.client("approver") as api:
        assert api.post(f"/api/v1/runs/{run_id}/approve").status_code == 200
    failed = shared_services.wait(
        lambda: (r := shared_services.run(run_id))["state"] == "FAILED" and r, "FAILED"
    )
    assert failed["failure_reason"].startswith("plan file checksum mismatch")
    assert "terraform apply" not in shared_services.logs_of(run_id)
    with shared_services.client() as api:
        assert api.get("/api/v1/stacks/acme/platform/db/state").status_code == 404
        assert api.get("/api/v1/stacks/acme/platform/db").json()["locked_by_run"] is None
