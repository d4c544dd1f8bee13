"""A GitLab Push Hook verified by X-Gitlab-Token starts a plan; a wrong token writes nothing."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

TOKEN = "gitlab-secret-token-9"


def _gitlab_body(platform: GitPlatform, before: str, after: str) -> bytes:
    return json.dumps(
        {
            "object_kind": "push",
            "event_name": "push",
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "user_username": "jsmith",
            "project": {"path_with_namespace": "group/infra", "git_http_url": platform.clone_url},
        }
    ).encode()


def _post(deployment: Deployment, body: bytes, token: str, uuid_header: str) -> httpx.Response:
    return httpx.post(
        f"{deployment.url}/webhooks/gitlab",
        content=body,
        timeout=30,
        headers={
            "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": token,
            "X-Gitlab-Event-UUID": uuid_header,
            "Content-Type": "application/json",
        },
    )


def test_gitlab_push_hook_plans_the_changed_stack(
    shared_services: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("gitlab"), name="group/infra")
    with shared_services.client() as api:
        created = api.post(
            "/api/v1/repositories",
            json={
                "name": "group/infra",
                "clone_url": platform.clone_url,
                "provider": "gitlab",
                "webhook_secret": TOKEN,
            },
        )
    assert created.status_code == 201, created.text
    assert TOKEN not in created.text
    before, after = platform.commit(
        {"net/stackrun.hcl": "stack {}\n", "net/main.tf": 'resource "null_resource" "n" {}\n'}
    )
    body = _gitlab_body(platform, before, after)

    forged = _post(shared_services, body, "wrong-token", str(uuid.uuid4()))
    assert forged.status_code == 401
    assert shared_services.runs(stack="group/infra/net") == []

    delivery = str(uuid.uuid4())
    accepted = _post(shared_services, body, TOKEN, delivery)
    assert accepted.status_code == 202, accepted.text
    runs = shared_services.wait(lambda: shared_services.runs(stack="group/infra/net"), "a run")
    planned = shared_services.wait_run_state(runs[0]["id"], {"UNCONFIRMED"})
    assert planned["plan_summary"]["add"] == 1
    assert planned["triggered_by"] == "push:jsmith"

    again = _post(shared_services, body, TOKEN, delivery)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
