"""Approval integrity, tried as an attacker on a real deployment (issue 15): a pusher cannot
launder their commit through discard and a manual run, nobody approves a run they triggered
or retried, and a TRACKED run is only ever at a commit on the tracked branch as last fetched."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.harness import ZERO, Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "integrity-secret-1234"
GOOD_TF = 'resource "null_resource" "app" {\n  triggers = { v = "VERSION" }\n}\n'
DONE = {"processed", "failed", "ignored"}
BROKEN_TF = 'resource "null_resource" "app" {\n  triggers = { v = var.nope }\n}\n'


def _files(main_tf: str, version: str = "1") -> dict[str, str]:
    return {"app/stackrun.hcl": "stack {}\n", "app/main.tf": main_tf.replace("VERSION", version)}


def _registered(deployment: Deployment, root: Any, name: str) -> GitPlatform:
    platform = GitPlatform(root, name=name)
    deployment.register(platform, SECRET)
    return platform


def _token(deployment: Deployment, who: str, vcs_login: str | None = None) -> str:
    name = f"{who}-{uuid.uuid4().hex[:6]}"
    with deployment.client() as api:
        made = api.post(
            "/api/v1/tokens", json={"name": name, "role": "approver", "vcs_login": vcs_login}
        )
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


def _as(deployment: Deployment, token: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.post(
        f"{deployment.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def _push(
    deployment: Deployment,
    platform: GitPlatform,
    before: str,
    after: str,
    pusher: str,
    ref: str = "refs/heads/main",
) -> None:
    body = json.loads(platform.push_body(before, after, pusher))
    body.update({"ref": ref, "forced": ref == "refs/heads/main" and before != ZERO})
    delivery = str(uuid.uuid4())
    accepted = deployment.webhook(json.dumps(body).encode(), SECRET, delivery=delivery)
    assert accepted.status_code == 202, accepted.text
    with deployment.client() as api:
        deployment.wait(
            lambda: api.get(f"/api/v1/events/{delivery}").json()["status"] in DONE,
            f"delivery {delivery} to be processed (so the mirror has fetched it)",
        )


def _run_of(deployment: Deployment, stack: str, commit: str) -> int:
    found = deployment.wait(
        lambda: [r for r in deployment.runs(stack=stack) if r["commit"]["sha"] == commit],
        f"a run of {stack} at {commit[:10]}",
    )
    return int(found[0]["id"])


def test_a_pusher_cannot_launder_their_commit_through_discard_and_a_manual_run(
    shared_services: Deployment, tmp_path: Any
) -> None:
    platform = _registered(shared_services, tmp_path / "git", "acme/launder")
    stack = "acme/launder/app"
    before, after = platform.commit(_files(GOOD_TF), "mallory's change")
    _push(shared_services, platform, before, after, pusher="mallory")
    pushed = _run_of(shared_services, stack, after)
    shared_services.wait_run_state(pushed, {"UNCONFIRMED"})
    mallory = _token(shared_services, "mallory", vcs_login="Mallory")

    refused = _as(shared_services, mallory, f"/api/v1/runs/{pushed}/approve")
    assert refused.status_code == 403, refused.text
    assert f"pushed it (run {pushed})" in refused.json()["detail"]
    assert _as(shared_services, mallory, f"/api/v1/runs/{pushed}/discard").status_code == 200
    manual = _as(shared_services, mallory, f"/api/v1/stacks/{stack}/runs", {})
    assert manual.status_code == 201, manual.text
    assert manual.json()["commit"] == after
    again = int(manual.json()["id"])
    shared_services.wait_run_state(again, {"UNCONFIRMED"})

    laundered = _as(shared_services, mallory, f"/api/v1/runs/{again}/approve")
    assert laundered.status_code == 403, laundered.text
    detail = laundered.json()["detail"]
    assert detail.startswith(f"approving run {again} of commit {after[:12]}: Mallory")
    assert f"pushed it (run {pushed})" in detail, "the rule follows the commit, not the run"
    assert shared_services.run(again)["reviews"] == []

    bob = _token(shared_services, "bob", vcs_login="bob")
    assert _as(shared_services, bob, f"/api/v1/runs/{again}/approve").status_code == 200
    shared_services.wait_run_state(again, {"FINISHED"}, timeout=180)


def test_a_tracked_run_is_only_ever_at_a_commit_on_the_branch_as_last_fetched(
    shared_services: Deployment, tmp_path: Any
) -> None:
    platform = _registered(shared_services, tmp_path / "git", "acme/leak")
    stack = "acme/leak/app"
    before, broken = platform.commit(_files(BROKEN_TF), "a stack that fails to plan")
    _push(shared_services, platform, before, broken, pusher="dev1")
    failed = _run_of(shared_services, stack, broken)
    shared_services.wait(lambda: shared_services.run(failed)["state"] == "FAILED", "FAILED")

    leak = platform.commit_on(
        "feature-leak", {"app/leak.tf": 'output "leak" {\n  value = "x"\n}\n'}
    )
    _push(shared_services, platform, ZERO, leak, "mallory", ref="refs/heads/feature-leak")
    runs_before = {r["id"] for r in shared_services.runs(limit=1000)}

    carol = _token(shared_services, "carol", vcs_login="carol")
    for asked in ("feature-leak", leak):
        refused = _as(shared_services, carol, f"/api/v1/stacks/{stack}/runs", {"commit": asked})
        assert refused.status_code == 409, refused.text
        detail = refused.json()["detail"]
        assert f"commit {leak[:12]}" in detail and "not on branch 'main' of acme/leak" in detail
    unknown = _as(shared_services, carol, f"/api/v1/stacks/{stack}/runs", {"commit": "--all"})
    assert unknown.status_code == 422, unknown.text

    work = platform.repo
    work.git.checkout("--orphan", "rewritten")
    work.git.rm("-r", "--cached", "--quiet", ".")
    (platform.work / "app" / "leak.tf").unlink(missing_ok=True)
    (platform.work / "app" / "main.tf").write_text(GOOD_TF.replace("VERSION", "2"))
    work.git.add(A=True)
    work.index.commit("main rewritten without the broken commit")
    work.git.push("--force", "origin", "rewritten:main")
    rewritten = work.head.commit.hexsha
    _push(shared_services, platform, broken, rewritten, pusher="dev1")
    unreachable = _as(shared_services, carol, f"/api/v1/runs/{failed}/retry")
    assert unreachable.status_code == 409, unreachable.text
    detail = unreachable.json()["detail"]
    assert detail.startswith(f"retrying run {failed}: commit {broken[:12]} is not on branch 'main'")

    (platform.work / "app" / "main.tf").write_text(GOOD_TF.replace("VERSION", "3"))
    work.git.add(A=True)
    work.index.commit("pushed, but no webhook yet")
    work.git.push("origin", "rewritten:main")
    unfetched = work.head.commit.hexsha
    not_yet = _as(shared_services, carol, f"/api/v1/stacks/{stack}/runs", {"commit": unfetched})
    assert not_yet.status_code == 422, not_yet.text
    assert "is not a commit stackrun holds for acme/leak" in not_yet.json()["detail"]
    tracked = [r for r in shared_services.runs(limit=1000) if r["id"] not in runs_before]
    assert [(r["kind"], r["commit"]["sha"]) for r in tracked] == [("TRACKED", rewritten)]
    with shared_services.client() as api:
        triggers = api.get("/api/v1/audit", params={"action": "stack.trigger"}).json()
    assert not [t for t in triggers if t["target"] == f"stack:{stack}"]

    at_head = _as(shared_services, carol, f"/api/v1/stacks/{stack}/runs", {})
    assert at_head.status_code == 201, at_head.text
    assert at_head.json()["commit"] == rewritten, "the head as last fetched, not fetched now"


def test_whoever_triggers_or_retries_a_run_cannot_approve_it(
    shared_services: Deployment, tmp_path: Any
) -> None:
    platform = _registered(shared_services, tmp_path / "git", "acme/manual")
    stack = "acme/manual/app"
    before, after = platform.commit(_files(GOOD_TF), "a stack")
    _push(shared_services, platform, before, after, pusher="dev1")
    pushed = _run_of(shared_services, stack, after)
    shared_services.wait_run_state(pushed, {"UNCONFIRMED"})
    bob = _token(shared_services, "bob", vcs_login="bob")
    assert _as(shared_services, bob, f"/api/v1/runs/{pushed}/discard").status_code == 200

    carol = _token(shared_services, "carol", vcs_login="carol")
    triggered = _as(shared_services, carol, f"/api/v1/stacks/{stack}/runs")
    assert triggered.status_code == 201, triggered.text
    manual = int(triggered.json()["id"])
    shared_services.wait_run_state(manual, {"UNCONFIRMED"})
    refused = _as(shared_services, carol, f"/api/v1/runs/{manual}/approve")
    assert refused.status_code == 403, refused.text
    assert f"triggered run {manual} by hand" in refused.json()["detail"]
    carol_again = _token(shared_services, "carol-laptop", vcs_login="CAROL")
    assert _as(shared_services, carol_again, f"/api/v1/runs/{manual}/approve").status_code == 403

    queued = _as(shared_services, bob, f"/api/v1/stacks/{stack}/runs")
    assert queued.status_code == 201, queued.text
    waiting = int(queued.json()["id"])
    assert _as(shared_services, bob, f"/api/v1/runs/{waiting}/cancel").status_code == 200
    assert _as(shared_services, bob, f"/api/v1/runs/{manual}/discard").status_code == 200
    erin = _token(shared_services, "erin", vcs_login="erin")
    retried = _as(shared_services, erin, f"/api/v1/runs/{waiting}/retry")
    assert retried.status_code == 200, retried.text
    retry = int(retried.json()["id"])
    shared_services.wait_run_state(retry, {"UNCONFIRMED"})
    own_retry = _as(shared_services, erin, f"/api/v1/runs/{retry}/approve")
    assert own_retry.status_code == 403, own_retry.text
    assert f"retried a run as run {retry}" in own_retry.json()["detail"]
    assert shared_services.run(retry)["reviews"] == []
    dave = _token(shared_services, "dave", vcs_login="dave")
    assert _as(shared_services, dave, f"/api/v1/runs/{retry}/approve").status_code == 200
    shared_services.wait_run_state(retry, {"FINISHED"}, timeout=180)
