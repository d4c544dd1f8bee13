"""Plan and approval policies end to end: real pushes, real Terraform plans, real Rego."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "policy-test-secret"
NO_DELETE = """package spacelift

deny[sprintf("may not delete %s", [change.entity.address])] {
  change := input.spacelift.run.changes[_]
  change.action == "deleted"
}
"""
TWO_FOR_DESTROY = """package stackrun.approvals
import rego.v1

reject if count(input.reviews.rejections) > 0
approve if {
  input.plan.destroy == 0
  count(input.reviews.approvals) >= 1
}
approve if {
  input.plan.destroy > 0
  count({a.user | some a in input.reviews.approvals}) >= 2
}
"""


TRIGGER = """package stackrun.triggers
import rego.v1

ignore if input.stackrun.stack.name == "quiet"
propose if input.stackrun.stack.name == "dry"
"""
WARN_ON_REPLACE = """package spacelift
import rego.v1

warn contains sprintf("replaces %s", [c.entity.address]) if {
  some c in input.spacelift.run.changes
  c.action == "replaced"
}
"""
ERRING = """package stackrun.erring
import rego.v1

deny contains msg if {
  n := count(input.terraform.resource_changes)
  msg := sprintf("%v", [10 / (n - n)])
}
"""


@pytest.fixture(scope="module")
def platform(shared_services: Deployment, tmp_path_factory: pytest.TempPathFactory) -> GitPlatform:
    repo = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/policies")
    shared_services.register(repo, SECRET)
    with shared_services.client() as api:
        for name, kind, body, label in (
            ("no-delete", "plan", NO_DELETE, "guarded"),
            ("two-for-destroy", "approval", TWO_FOR_DESTROY, "reviewed"),
            ("triggers", "trigger", TRIGGER, "triggered"),
            ("erring", "plan", ERRING, "erring"),
            ("warn-on-replace", "plan", WARN_ON_REPLACE, "watched"),
        ):
            created = api.post(
                "/api/v1/policies",
                json={"name": name, "type": kind, "body": body, "attach_labels": [label]},
            )
            assert created.status_code == 201, created.text
    return repo


def _stack(path: str, label: str, resources: int) -> dict[str, str]:
    body = "".join(
        f'resource "null_resource" "r{i}" {{\n  triggers = {{ v = "1" }}\n}}\n'
        for i in range(resources)
    )
    return {
        f"{path}/stackrun.hcl": f'stack {{\n  labels = ["{label}"]\n}}\n',
        f"{path}/main.tf": body or "# nothing\n",
    }


def _push(deployment: Deployment, platform: GitPlatform, files: dict[str, str]) -> int:
    before, after = platform.commit(files)
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
    found = deployment.wait(
        lambda: [r for r in deployment.runs() if r["commit"]["sha"] == after], f"run of {after}"
    )
    return int(found[0]["id"])


def _token(deployment: Deployment, role: str, vcs_login: str | None = None) -> str:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    with deployment.client() as api:
        made = api.post("/api/v1/tokens", json={"name": name, "role": role, "vcs_login": vcs_login})
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


def _review(deployment: Deployment, run_id: int, action: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{deployment.url}/api/v1/runs/{run_id}/{action}",
        json={"comment": "looked at it"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def _apply(deployment: Deployment, run_id: int) -> None:
    deployment.wait_run_state(run_id, {"UNCONFIRMED"}, timeout=180)
    assert _review(deployment, run_id, "approve", _token(deployment, "approver")).status_code == 200
    deployment.wait_run_state(run_id, {"FINISHED"}, timeout=180)


def test_a_spacelift_style_plan_policy_fails_a_real_destroy_plan_and_nothing_is_applied(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    _apply(shared_services, _push(shared_services, platform, _stack("guarded", "guarded", 2)))
    run_id = _push(shared_services, platform, _stack("guarded", "guarded", 1))
    run = shared_services.wait_run_state(run_id, {"FAILED"}, timeout=180)
    assert "may not delete null_resource.r1" in run["failure_reason"], run
    assert run["plan_summary"]["destroy"] == 1
    evaluations = shared_services.run(run_id)["policy_evaluations"]
    assert [(e["policy"], e["version"], e["result"]) for e in evaluations] == [
        ("no-delete", 1, "deny")
    ]
    assert "policy: no-delete v1 (plan) → deny" in shared_services.logs_of(run_id)


def test_a_destroy_needs_two_distinct_approvers_and_the_pusher_and_viewers_cannot_review(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    _apply(shared_services, _push(shared_services, platform, _stack("reviewed", "reviewed", 2)))
    run_id = _push(shared_services, platform, _stack("reviewed", "reviewed", 1))
    shared_services.wait_run_state(run_id, {"UNCONFIRMED"}, timeout=180)
    pusher = _token(shared_services, "approver", vcs_login="dev1")
    assert _review(shared_services, run_id, "approve", pusher).status_code == 403
    viewer = _token(shared_services, "viewer")
    assert _review(shared_services, run_id, "approve", viewer).status_code == 403
    first = _review(shared_services, run_id, "approve", _token(shared_services, "approver"))
    assert first.status_code == 200 and first.json()["state"] == "UNCONFIRMED", first.text
    second = _review(shared_services, run_id, "approve", _token(shared_services, "approver"))
    assert second.status_code == 200 and second.json()["state"] == "CONFIRMED", second.text
    shared_services.wait_run_state(run_id, {"FINISHED"}, timeout=180)
    reviews: list[dict[str, Any]] = shared_services.run(run_id)["reviews"]
    assert [r["decision"] for r in reviews] == ["approve", "approve"]


def test_a_rejection_wins_and_a_revoked_token_is_refused_and_every_review_is_audited(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    run_id = _push(shared_services, platform, _stack("reviewed", "reviewed", 3))
    shared_services.wait_run_state(run_id, {"UNCONFIRMED"}, timeout=180)
    approver = _token(shared_services, "approver")
    rejecter = _token(shared_services, "approver")
    assert _review(shared_services, run_id, "reject", rejecter).json()["state"] == "DISCARDED"
    assert _review(shared_services, run_id, "approve", approver).status_code == 409
    with shared_services.client() as api:
        revoked_name = next(
            t["actor"]
            for t in api.get("/api/v1/audit", params={"action": "run.reject"}).json()
            if t["target"] == f"run:{run_id}"
        )
        rows = api.get("/api/v1/audit", params={"target": f"run:{run_id}"}).json()
        assert [r["action"] for r in rows] == ["run.reject"]
        assert rows[0]["source_ip"] == "127.0.0.1"
        assert api.post(f"/api/v1/tokens/{revoked_name}/revoke").status_code == 200
    refused = httpx.get(
        f"{shared_services.url}/api/v1/runs",
        headers={"Authorization": f"Bearer {rejecter}"},
        timeout=30,
    )
    assert refused.status_code == 401


def test_a_policy_that_does_not_compile_is_refused_with_its_line_and_nothing_is_stored(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    with shared_services.client() as api:
        refused = api.post(
            "/api/v1/policies",
            json={"name": "broken", "type": "plan", "body": "package x\n\ndeny[m] { m := }\n"},
        )
        assert refused.status_code == 422
        assert "line 3" in refused.json()["detail"], refused.text
        assert api.get("/api/v1/policies/broken").status_code == 404
        viewer = api.post(
            "/api/v1/policies",
            json={"name": "v", "type": "plan", "body": "package x\n"},
            headers={"Authorization": f"Bearer {shared_services.token('viewer')}"},
        )
        assert viewer.status_code == 403


def test_a_plan_policy_that_errs_on_the_real_plan_fails_the_run_and_never_applies(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    run_id = _push(shared_services, platform, _stack("erring", "erring", 1))
    run = shared_services.wait_run_state(run_id, {"FAILED"}, timeout=180)
    assert run["failure_reason"].startswith("plan policy denied: policy erring"), run
    assert "evaluation error" in run["failure_reason"]
    assert "APPLYING" not in [h["to"] for h in shared_services.run(run_id)["history"]]


def test_trigger_policies_ignore_one_stack_and_make_another_plan_only(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    files = {**_stack("quiet", "triggered", 1), **_stack("dry", "triggered", 1)}
    before, after = platform.commit(files)
    delivery = "trigger-" + uuid.uuid4().hex
    response = shared_services.webhook(platform.push_body(before, after), SECRET, delivery)
    assert response.status_code == 202
    runs = shared_services.wait(
        lambda: [r for r in shared_services.runs() if r["commit"]["sha"] == after],
        f"runs of {after}",
    )
    assert [r["stack"] for r in runs] == ["acme/policies/dry"]
    dry = shared_services.wait_run_state(int(runs[0]["id"]), {"FINISHED"}, timeout=180)
    assert dry["kind"] == "PROPOSED"
    assert "plan only: a trigger policy asks to propose" in dry["trigger_reason"]
    assert dry["plan_summary"]["add"] == 1
    with shared_services.client() as api:
        event = api.get(f"/api/v1/events/{delivery}").json()
    assert "ignored by trigger policies: quiet" in event["detail"], event


def test_policy_sync_uploads_a_folder_and_a_changed_file_becomes_a_new_version(
    shared_services: Deployment, tmp_path: Any
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "sync-warn.rego").write_text(
        '# type: plan\npackage acme.sync\nimport rego.v1\nwarn contains "v1" if false\n'
    )
    (folder / "sync-approval.rego").write_text("package acme.review\nreject := false\n")
    token = shared_services.token("admin")
    args = ("policy", "sync", str(folder), "--label", "nobody", "--url", shared_services.url)
    first = shared_services.cli(*args, "--token", token)
    assert "created sync-approval (approval)" in first.stdout, first.stdout
    assert "created sync-warn (plan)" in first.stdout
    (folder / "sync-warn.rego").write_text(
        '# type: plan\npackage acme.sync\nimport rego.v1\nwarn contains "v2" if false\n'
    )
    second = shared_services.cli(*args, "--token", token)
    assert "updated sync-warn (plan)" in second.stdout
    assert "unchanged sync-approval" in second.stdout
    with shared_services.client() as api:
        policy = api.get("/api/v1/policies/sync-warn").json()
    assert (policy["version"], policy["attach_labels"]) == (2, ["nobody"])
    assert '"v2"' in policy["body"]
    with shared_services.client() as api:
        relabelled = api.put("/api/v1/policies/sync-warn", json={"attach_labels": ["prod"]})
    assert relabelled.status_code == 200, relabelled.text
    after = relabelled.json()
    assert (after["version"], after["attach_labels"], after["body"]) == (
        3,
        ["prod"],
        policy["body"],
    )


def test_a_warning_on_a_real_replace_makes_an_autodeploy_stack_wait_for_a_human(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    def watched(version: str) -> dict[str, str]:
        return {
            "watched/stackrun.hcl": 'stack {\n  labels = ["watched"]\n  autodeploy = true\n}\n',
            "watched/main.tf": (
                f'resource "null_resource" "x" {{\n  triggers = {{ v = "{version}" }}\n}}\n'
            ),
        }

    created = _push(shared_services, platform, watched("1"))
    shared_services.wait_run_state(created, {"FINISHED"}, timeout=180)
    replaced = _push(shared_services, platform, watched("2"))
    run = shared_services.wait_run_state(replaced, {"UNCONFIRMED"}, timeout=180)
    assert run["plan_summary"] == {"add": 1, "change": 0, "destroy": 1}
    assert run["history"][-1]["reason"] == "waiting for approval: a plan policy warned"
    evaluations = run["policy_evaluations"]
    assert [(e["policy"], e["result"], e["messages"]) for e in evaluations] == [
        ("warn-on-replace", "warn", ["replaces null_resource.x"])
    ]
    approver = _token(shared_services, "approver")
    assert _review(shared_services, replaced, "approve", approver).status_code == 200
    shared_services.wait_run_state(replaced, {"FINISHED"}, timeout=180)
