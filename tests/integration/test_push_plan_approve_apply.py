"""A signed push becomes a plan; an approval becomes an apply — on real parts."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-1234"
STACK_FILES = {
    "app/stackrun.hcl": 'stack {\n  name = "app"\n}\n',
    "app/main.tf": (
        'resource "null_resource" "one" {\n  triggers = { v = "1" }\n}\n'
        'resource "null_resource" "two" {}\n'
        'output "one_id" {\n  value = null_resource.one.id\n}\n'
    ),
}


def _single_run(deployment: Deployment, commit: str) -> dict[str, object]:
    def found() -> dict[str, object] | None:
        runs = [r for r in deployment.runs() if r["commit"]["sha"] == commit]
        return runs[0] if runs else None

    return dict(deployment.wait(found, f"a run for commit {commit[:10]}"))


def push_plan_approve_apply(deployment: Deployment, platform: GitPlatform) -> None:
    before, after = platform.commit(STACK_FILES, "add app stack")
    delivery = "delivery-first-push"
    body = platform.push_body(before, after)
    accepted = deployment.webhook(body, SECRET, delivery=delivery)
    assert accepted.status_code == 202, accepted.text

    run = _single_run(deployment, after)
    assert run["stack"] == "acme/platform/app"
    planned = deployment.wait_run_state(int(run["id"]), {"UNCONFIRMED"})
    assert planned["plan_summary"]["add"] == 2

    with deployment.client("approver") as api:
        approved = api.post(f"/api/v1/runs/{run['id']}/approve", json={"comment": "lgtm"})
    assert approved.status_code == 200, approved.text
    applied = deployment.wait_run_state(int(run["id"]), {"FINISHED"})
    states = [h["to"] for h in applied["history"]]
    assert states == [
        "QUEUED",
        "PREPARING",
        "INITIALIZING",
        "PLANNING",
        "UNCONFIRMED",
        "CONFIRMED",
        "APPLYING",
        "FINISHED",
    ]

    with deployment.client("admin") as api:
        state = api.get("/api/v1/stacks/acme/platform/app/state")
    assert state.status_code == 200
    resources = {r["name"] for r in json.loads(state.content)["resources"]}
    assert resources == {"one", "two"}

    second_before, second_after = platform.commit({"app/README.md": "docs only\n"}, "docs")
    second = deployment.webhook(platform.push_body(second_before, second_after), SECRET)
    assert second.status_code == 202, second.text
    rerun = _single_run(deployment, second_after)
    finished = deployment.wait_run_state(int(rerun["id"]), {"FINISHED"})
    assert finished["plan_summary"] == {"add": 0, "change": 0, "destroy": 0}
    assert "UNCONFIRMED" not in [h["to"] for h in finished["history"]]
    assert "No changes" in deployment.logs_of(int(rerun["id"]))

    runs_before = len(deployment.runs())
    duplicate = deployment.webhook(body, SECRET, delivery=delivery)
    assert duplicate.status_code == 200
    assert duplicate.json()["status"] == "duplicate"
    assert len(deployment.runs()) == runs_before


def test_push_to_apply_on_postgres_redis_and_a_celery_worker(
    services: Deployment, platform: GitPlatform
) -> None:
    services.register(platform, SECRET)
    push_plan_approve_apply(services, platform)


def test_push_to_apply_on_embedded_defaults_with_stackrun_up(
    embedded: Deployment, platform: GitPlatform
) -> None:
    embedded.register_with_cli(platform, SECRET)
    push_plan_approve_apply(embedded, platform)
    metrics = httpx.get(f"{embedded.url}/metrics").text
    assert 'stackrun_runs{state="FINISHED"} 2.0' in metrics
    assert "stackrun_queue_depth 0.0" in metrics
    assert httpx.get(f"{embedded.url}/readyz").json()["checks"] == {
        "database": True,
        "broker": True,
    }
