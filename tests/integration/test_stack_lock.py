"""One state-changing run per stack: a newer push waits for the older run to end."""

from __future__ import annotations

import time

import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "lock-test-secret"
TEMPLATE = 'resource "null_resource" "vpc" {\n  triggers = { v = "VERSION" }\n}\n'


def _push(deployment: Deployment, platform: GitPlatform, version: str) -> int:
    before, after = platform.commit(
        {
            "vpc/stackrun.hcl": "stack {}\n",
            "vpc/main.tf": TEMPLATE.replace("VERSION", version),
        }
    )
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
    found = deployment.wait(
        lambda: [r for r in deployment.runs() if r["commit"]["sha"] == after], f"run of {after}"
    )
    return int(found[0]["id"])


def test_a_newer_run_waits_queued_until_the_unconfirmed_one_is_discarded(
    shared_services: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"))
    shared_services.register(platform, SECRET)
    first = _push(shared_services, platform, "1")
    shared_services.wait_run_state(first, {"UNCONFIRMED"})
    second = _push(shared_services, platform, "2")
    time.sleep(3)
    waiting = shared_services.run(second)
    assert waiting["state"] == "QUEUED"
    with shared_services.client() as api:
        assert api.get("/api/v1/stacks/acme/platform/vpc").json()["locked_by_run"] == first
        discarded = api.post(f"/api/v1/runs/{first}/discard", json={"comment": "not this one"})
    assert discarded.status_code == 200, discarded.text
    planned = shared_services.wait_run_state(second, {"UNCONFIRMED"})
    assert planned["plan_summary"]["add"] == 1
    history = shared_services.run(first)["history"]
    assert history[-1]["to"] == "DISCARDED" and history[-1]["reason"] == "not this one"
