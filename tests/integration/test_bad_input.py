"""Bad input gets a precise answer and writes nothing (PostgreSQL, Redis, a celery worker)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "the-right-secret-42"
FILES = {
    "good/stackrun.hcl": 'stack {\n  name = "good"\n}\n',
    "good/main.tf": 'resource "null_resource" "ok" {}\n',
    "broken/stackrun.hcl": 'stack {\n  name = "broken"\n}\n',
    "cracked/stackrun.hcl": "stack {\n  name = \n}\n",
    "cracked/main.tf": 'resource "null_resource" "fine" {}\n',
    "broken/main.tf": (
        'resource "null_resource" "bad" {\n  triggers = { a = var.not_declared }\n}\n'
    ),
}


@pytest.fixture(scope="module")
def deployment(shared_services: Deployment) -> Deployment:
    return shared_services


@pytest.fixture(scope="module")
def pushed(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """One push with a good and a broken stack; returns run ids by stack name."""
    platform = GitPlatform(tmp_path_factory.mktemp("git"))
    deployment.register(platform, SECRET)
    before, after = platform.commit(FILES)
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
    runs = deployment.wait(lambda: len(deployment.runs()) == 3 and deployment.runs(), "3 runs")
    return {r["stack"].rsplit("/", 1)[-1]: int(r["id"]) for r in runs}


def _events_written(deployment: Deployment, delivery: str) -> int:
    with deployment.client() as api:
        return 0 if api.get(f"/api/v1/events/{delivery}").status_code == 404 else 1


def _body(name: str = "acme/platform") -> bytes:
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": "1" * 40,
            "repository": {"full_name": name, "clone_url": f"https://git.example.com/{name}.git"},
        }
    ).encode()


def test_wrong_signature_is_401_and_writes_no_event(
    deployment: Deployment, pushed: dict[str, int]
) -> None:
    response = deployment.webhook(_body(), "not-the-secret", delivery="forged-1")
    assert response.status_code == 401
    assert "signature does not match" in response.json()["detail"]
    assert _events_written(deployment, "forged-1") == 0


def test_unsigned_webhook_is_401(deployment: Deployment, pushed: dict[str, int]) -> None:
    response = deployment.webhook(_body(), None, delivery="unsigned-1")
    assert response.status_code == 401
    assert "unsigned" in response.json()["detail"]
    assert _events_written(deployment, "unsigned-1") == 0


def test_malformed_json_is_422(deployment: Deployment, pushed: dict[str, int]) -> None:
    response = deployment.webhook(b'{"ref": "refs/heads/main", ', SECRET, delivery="broken-1")
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]
    assert _events_written(deployment, "broken-1") == 0


def test_push_for_unregistered_repository_is_answered_as_a_bad_signature(
    deployment: Deployment, pushed: dict[str, int]
) -> None:
    """Never a 404 naming it: that would tell a stranger which repositories are registered."""
    response = deployment.webhook(_body("someone/else"), SECRET, delivery="stranger-1")
    forged = deployment.webhook(_body(), "not-the-secret", delivery="forged-2")
    assert response.status_code == forged.status_code == 401
    assert response.json() == forged.json()
    assert "someone/else" not in response.text
    assert _events_written(deployment, "stranger-1") == 0


def test_terraform_error_fails_the_run_with_terraforms_message(
    deployment: Deployment, pushed: dict[str, int]
) -> None:
    run = deployment.wait(
        lambda: (r := deployment.run(pushed["broken"]))["state"] == "FAILED" and r, "FAILED"
    )
    assert "Reference to undeclared input variable" in run["failure_reason"]
    assert "Reference to undeclared input variable" in deployment.logs_of(pushed["broken"])
    assert run["history"][-1]["reason"] == run["failure_reason"]


def test_a_stack_file_that_does_not_parse_fails_its_run_with_file_and_line(
    deployment: Deployment, pushed: dict[str, int]
) -> None:
    run = deployment.wait(
        lambda: (r := deployment.run(pushed["cracked"]))["state"] == "FAILED" and r, "FAILED"
    )
    assert run["failure_reason"].startswith("parsing cracked/stackrun.hcl:2:")
    assert "INITIALIZING" not in [h["to"] for h in run["history"]]


def test_viewer_cannot_approve_and_the_run_stays_unconfirmed(
    deployment: Deployment, pushed: dict[str, int]
) -> None:
    run_id = pushed["good"]
    deployment.wait_run_state(run_id, {"UNCONFIRMED"})
    with deployment.client("viewer") as api:
        response = api.post(f"/api/v1/runs/{run_id}/approve")
    assert response.status_code == 403
    assert "needs approver" in response.json()["detail"]
    assert deployment.run(run_id)["state"] == "UNCONFIRMED"


def test_unknown_token_is_401(deployment: Deployment, pushed: dict[str, int]) -> None:
    response = httpx.post(
        f"{deployment.url}/api/v1/runs/{pushed['good']}/approve",
        headers={"Authorization": "Bearer srt_wrong"},
    )
    assert response.status_code == 401
    assert deployment.run(pushed["good"])["state"] in {
        "UNCONFIRMED",
        "CONFIRMED",
        "APPLYING",
        "FINISHED",
    }


def test_state_backend_refuses_requests_without_a_run_credential(
    deployment: Deployment, pushed: dict[str, int]
) -> None:
    url = f"{deployment.url}/api/v1/stacks/acme/platform/good/state"
    assert httpx.post(url, content=b"{}").status_code == 401
    assert httpx.post(url, content=b"{}", auth=("run-1", "guess")).status_code == 401


def test_approving_a_finished_run_is_409_naming_its_state(
    deployment: Deployment, pushed: dict[str, int]
) -> None:
    run_id = pushed["good"]
    deployment.wait_run_state(run_id, {"UNCONFIRMED"})
    with deployment.client("approver") as api:
        assert api.post(f"/api/v1/runs/{run_id}/approve").status_code == 200
    deployment.wait_run_state(run_id, {"FINISHED"})
    with deployment.client("approver") as api:
        again = api.post(f"/api/v1/runs/{run_id}/approve")
    assert again.status_code == 409
    assert "is FINISHED" in again.json()["detail"]
    with deployment.client("admin") as api:
        audit = api.get("/api/v1/audit").json()
    approvals = [
        a for a in audit if a["action"] == "run.approve" and a["target"] == f"run:{run_id}"
    ]
    assert len(approvals) == 1
