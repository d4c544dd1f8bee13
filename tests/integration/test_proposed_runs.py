"""Proposed runs end to end: feature-branch pushes, GitHub pull requests and GitLab merge
requests (driven by the real webhook bodies) plan and check policy without applying, and are
reported back to a stand-in of the GitHub and GitLab REST APIs that checks every request."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import ZERO, Deployment, GitPlatform, start_services
from tests.support.vcs_api import VcsApi

pytestmark = pytest.mark.integration

SECRET = "proposed-runs-webhook-secret"
VCS_TOKEN = "vcs-token-" + uuid.uuid4().hex
WEBHOOKS = Path(__file__).parents[1] / "data" / "webhooks"
GITHUB_LIMIT = 65_536

DENY_FORBIDDEN = """package stackrun.guard
import rego.v1

deny contains sprintf("%s may not be created here", [rc.address]) if {
  some rc in input.terraform.resource_changes
  rc.name == "forbidden"
}
"""


def _network(resources: int = 1) -> dict[str, str]:
    body = "".join(f'resource "null_resource" "n{i}" {{}}\n' for i in range(resources))
    return {
        "network/stackrun.hcl": 'stack {\n  name       = "network"\n  autodeploy = true\n}\n',
        "network/main.tf": body + 'output "vpc_id" {\n  value = null_resource.n0.id\n}\n',
    }


def _app(extra: str = "") -> dict[str, str]:
    return {
        "app/stackrun.hcl": 'stack {\n  name       = "app"\n  autodeploy = true\n'
        '  labels     = ["guarded"]\n'
        '  input "vpc_id" {\n    stack  = "../network"\n    output = "vpc_id"\n  }\n}\n',
        "app/main.tf": 'variable "vpc_id" {\n  type = string\n}\n'
        'resource "null_resource" "app" {\n  triggers = { vpc = var.vpc_id }\n}\n' + extra,
    }


@dataclass
class World:
    deployment: Deployment
    platform: GitPlatform
    vcs: VcsApi
    database_url: str

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        with self.deployment.client("admin") as client:
            response = client.request(method, path, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def pipelines(self, **params: Any) -> list[dict[str, Any]]:
        return list(self.api("GET", "/api/v1/pipelines", params=params))

    def state_versions(self, stack: str) -> list[int | None]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT run_id FROM state_versions WHERE stack_id = :s ORDER BY id"),
                    {"s": stack},
                )
                return [row[0] for row in rows]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path) -> Iterator[World]:
    root = tmp_path_factory.mktemp("proposed")
    env = {
        "STACKRUN_REPORT_SECONDS": "0.5",
        "STACKRUN_REPORT_BACKOFF_SECONDS": "1",
        "STACKRUN_REPORT_MAX_ATTEMPTS": "50",
    }
    with VcsApi(token=VCS_TOKEN) as vcs, fresh_postgres_database() as url:
        deployment = start_services(
            root / "stackrun", tf_cli_config, url, flushed_redis(), beat=True, extra_env=env
        )
        try:
            platform = GitPlatform(root / "github", name="acme/platform")
            with deployment.client("admin") as client:
                registered = client.post(
                    "/api/v1/repositories",
                    json={
                        "name": platform.name,
                        "clone_url": platform.clone_url,
                        "provider": "github",
                        "webhook_secret": SECRET,
                        "vcs_api_url": vcs.github_url,
                        "vcs_token": VCS_TOKEN,
                    },
                )
                assert registered.status_code == 201, registered.text
                assert VCS_TOKEN not in registered.text
                policy = client.post(
                    "/api/v1/policies",
                    json={
                        "name": "guard",
                        "type": "plan",
                        "body": DENY_FORBIDDEN,
                        "attach_labels": ["guarded"],
                    },
                )
                assert policy.status_code == 201, policy.text
            world = World(deployment, platform, vcs, url)
            _apply_base(world)
            yield world
        finally:
            deployment.stop()


def _apply_base(world: World) -> None:
    """main holds network → app, both applied, so proposals read applied outputs."""
    before, after = world.platform.commit({**_network(), **_app()}, "network and app")
    body = world.platform.push_body(before, after)
    assert world.deployment.webhook(body, SECRET).status_code == 202
    runs = world.deployment.wait(
        lambda: len(_runs_at(world, after)) == 2 and _runs_at(world, after), "two base runs"
    )
    for run in runs:
        world.deployment.wait_run_state(run["id"], {"FINISHED"})


def _runs_at(world: World, sha: str) -> list[dict[str, Any]]:
    return [r for r in world.deployment.runs() if r["commit"]["sha"] == sha]


def _pull_request(platform: GitPlatform, number: int, action: str, branch: str, sha: str) -> bytes:
    name = "opened" if action in ("opened", "closed", "reopened") else "synchronize"
    payload = json.loads((WEBHOOKS / f"github-pull-request-{name}.json").read_text())
    payload["action"] = action
    payload["number"] = number
    pr = payload["pull_request"]
    pr["number"] = number
    pr["head"]["sha"] = sha
    pr["head"]["ref"] = branch
    pr["head"]["repo"]["full_name"] = platform.name
    pr["head"]["repo"]["clone_url"] = platform.clone_url
    pr["base"]["ref"] = "main"
    pr["base"]["repo"]["full_name"] = platform.name
    payload["repository"]["full_name"] = platform.name
    payload["repository"]["clone_url"] = platform.clone_url
    payload["sender"]["login"] = "dev2"
    return json.dumps(payload).encode()


def _open(world: World, number: int, action: str, branch: str, sha: str) -> None:
    body = _pull_request(world.platform, number, action, branch, sha)
    answer = world.deployment.webhook(body, SECRET, event="pull_request")
    assert answer.status_code == 202, answer.text


def _settled_pipeline(world: World, newer_than: int = 0, **params: Any) -> dict[str, Any]:
    """The newest pipeline matching `params` once its runs ended and its report was sent."""

    def settled() -> dict[str, Any] | None:
        found = world.pipelines(**params)
        if not found or not found[0]["runs"] or found[0]["id"] <= newer_than:
            return None
        pipeline = found[0]
        done = all(r["state"] in TERMINAL for r in pipeline["runs"])
        reported = pipeline["report"] and pipeline["report"]["state"] == "ok"
        fresh = pipeline["report"] and pipeline["report"]["next_attempt_at"] is None
        return pipeline if done and reported and fresh else None

    return dict(world.deployment.wait(settled, f"pipeline {params} to settle", timeout=180))


TERMINAL = {"FINISHED", "FAILED", "DISCARDED", "CANCELED", "SKIPPED", "STOPPED"}


def _final_statuses(world: World, sha: str) -> dict[str, tuple[str, str]]:
    last: dict[str, tuple[str, str]] = {}
    for post in world.vcs.statuses(sha=sha):
        last[post.context] = (post.state, post.description)
    return last


def _comments_of(world: World, number: int) -> list[Any]:
    return [c for c in world.vcs.comments(provider="github").values() if c.number == number]


def _posts_for(world: World, number: int) -> int:
    return sum(
        1
        for r in world.vcs.requests
        if r.method == "POST" and r.path.endswith(f"/issues/{number}/comments")
    )


def test_a_pull_request_touching_two_stacks_gets_two_statuses_and_one_edited_comment(
    world: World,
) -> None:
    versions_before = world.state_versions("acme/platform/network")
    sha = world.platform.commit_on("feature/two", {**_network(2), **_app("# app change\n")})
    _open(world, 1, "opened", "feature/two", sha)
    pipeline = _settled_pipeline(world, pr=1)

    assert (pipeline["kind"], pipeline["branch"], pipeline["commit_sha"]) == (
        "PROPOSED",
        "feature/two",
        sha,
    )
    runs = {r["stack"]: r for r in pipeline["runs"]}
    assert set(runs) == {"acme/platform/network", "acme/platform/app"}
    for run in runs.values():
        assert (run["kind"], run["state"], run["pr_number"]) == ("PROPOSED", "FINISHED", 1)
        log = world.deployment.logs_of(run["id"])
        assert "$ terraform apply" not in log and "Apply complete" not in log
    app_log = world.deployment.logs_of(runs["acme/platform/app"]["id"])
    assert "plans with its upstream stacks' last applied outputs" in app_log
    assert world.state_versions("acme/platform/network") == versions_before

    final = {context: state for context, (state, _) in _final_statuses(world, sha).items()}
    assert final == {"stackrun/network": "success", "stackrun/app": "success"}
    assert all(p.target_url for p in world.vcs.statuses(sha=sha))
    (comment,) = _comments_of(world, 1)
    assert _posts_for(world, 1) == 1
    assert comment.edits >= 1, "the comment is edited in place as runs finish"
    assert "| network |" in comment.body and "| app |" in comment.body
    assert comment.body.count("<details>") == 2
    assert sha[:7] in comment.body
    assert [p["id"] for p in world.pipelines(ref="refs/heads/feature/two")] == [pipeline["id"]]
    assert {p["pr_number"] for p in world.pipelines(kind="PROPOSED", pr=1)} == {1}


def test_a_new_push_to_the_pull_request_supersedes_its_runs_and_updates_the_same_comment(
    world: World,
) -> None:
    first = world.platform.commit_on("feature/sup", {**_network(3), **_app("# one\n")})
    _open(world, 2, "opened", "feature/sup", first)
    old = world.deployment.wait(
        lambda: next(iter(world.pipelines(pr=2)), None), "the first proposal of PR 2"
    )
    second = world.platform.commit_on("feature/sup", _app("# two\n"))
    _open(world, 2, "synchronize", "feature/sup", second)
    new = _settled_pipeline(world, pr=2)
    assert new["commit_sha"] == second and new["id"] != old["id"]

    old_runs = world.api("GET", f"/api/v1/pipelines/{old['id']}")["runs"]
    ended = [r for r in old_runs if r["state"] in ("DISCARDED", "STOPPED")]
    assert ended, f"no run of the first proposal was superseded: {old_runs}"
    for run in ended:
        history = world.api("GET", f"/api/v1/runs/{run['id']}")["history"]
        assert history[-1]["reason"] == f"superseded by pipeline {new['id']} at {second[:12]}"
    assert all(r["state"] == "FINISHED" for r in new["runs"])
    (comment,) = _comments_of(world, 2)
    assert _posts_for(world, 2) == 1
    assert second[:7] in comment.body


def test_a_plan_policy_deny_is_a_failure_status_with_the_policy_message(world: World) -> None:
    sha = world.platform.commit_on(
        "feature/deny", _app('resource "null_resource" "forbidden" {}\n')
    )
    _open(world, 3, "opened", "feature/deny", sha)
    pipeline = _settled_pipeline(world, pr=3)
    (run,) = pipeline["runs"]
    assert run["state"] == "FAILED"
    state, description = _final_statuses(world, sha)["stackrun/app"]
    assert state == "failure"
    assert "null_resource.forbidden may not be created here" in description
    assert len(description) <= 140
    (comment,) = _comments_of(world, 3)
    # Markdown-escaped in the comment, so GitHub shows the underscore instead of italics.
    assert "null\\_resource.forbidden may not be created here" in comment.body


def test_a_500_resource_plan_is_one_comment_under_githubs_limit(world: World) -> None:
    big = {
        "big/stackrun.hcl": 'stack {\n  name = "big"\n}\n',
        "big/main.tf": 'resource "null_resource" "r" {\n  count = 500\n'
        f'  triggers = {{\n    index   = count.index\n    padding = "{"x" * 120}"\n  }}\n}}\n',
    }
    sha = world.platform.commit_on("feature/big", big)
    _open(world, 4, "opened", "feature/big", sha)
    pipeline = _settled_pipeline(world, pr=4)
    (run,) = pipeline["runs"]
    assert run["state"] == "FINISHED" and run["plan_summary"]["add"] == 500
    (comment,) = _comments_of(world, 4)
    assert _posts_for(world, 4) == 1
    assert len(comment.body) < GITHUB_LIMIT
    assert "null_resource.r[0]" in comment.body and "null_resource.r[499]" not in comment.body
    assert f"more lines: full plan at {world.deployment.url}/api/v1/runs/{run['id']}/logs" in (
        comment.body
    )


def test_the_vcs_api_down_leaves_runs_alone_retries_and_shows_on_the_pipeline(
    world: World,
) -> None:
    world.vcs.fail(status=500)
    try:
        sha = world.platform.commit_on("feature/down", _app("# down\n"))
        _open(world, 5, "opened", "feature/down", sha)

        def failing() -> dict[str, Any] | None:
            found = world.pipelines(pr=5)
            report = found[0]["report"] if found else None
            done = found and all(r["state"] in TERMINAL for r in found[0]["runs"])
            if done and report and report["state"] == "failing" and report["attempts"] >= 2:
                return found[0]
            return None

        pipeline = world.deployment.wait(failing, "the report to fail twice", timeout=180)
        assert all(r["state"] == "FINISHED" for r in pipeline["runs"])
        assert "HTTP 500" in pipeline["report"]["error"]
        assert VCS_TOKEN not in json.dumps(pipeline)
        assert world.vcs.refused and not world.vcs.statuses(sha=sha)
    finally:
        world.vcs.recover()
    _settled_pipeline(world, pr=5)
    assert _final_statuses(world, sha)["stackrun/app"][0] == "success"
    assert len(_comments_of(world, 5)) == 1


def test_closing_the_pull_request_ends_its_pending_runs_and_reopening_proposes_again(
    world: World,
) -> None:
    sha = world.platform.commit_on("feature/close", {**_network(4), **_app("# close\n")})
    _open(world, 6, "opened", "feature/close", sha)
    world.deployment.wait(lambda: world.pipelines(pr=6) or None, "the proposal of PR 6")
    _open(world, 6, "closed", "feature/close", sha)
    pipeline = _settled_pipeline(world, pr=6)
    assert pipeline["note"] == "pull request #6 closed"
    ended = [r for r in pipeline["runs"] if r["state"] in ("DISCARDED", "STOPPED")]
    assert ended, pipeline["runs"]
    (comment,) = _comments_of(world, 6)
    assert "pull request #6 closed" in comment.body

    _open(world, 6, "reopened", "feature/close", sha)
    reopened = _settled_pipeline(world, newer_than=pipeline["id"], pr=6)
    assert reopened["id"] != pipeline["id"] and reopened["commit_sha"] == sha
    assert reopened["runs"] and all(r["state"] == "FINISHED" for r in reopened["runs"])
    (comment,) = _comments_of(world, 6)
    assert _posts_for(world, 6) == 1 and "closed" not in comment.body


def test_a_gitlab_merge_request_gets_a_status_per_stack_and_one_note(
    world: World, tmp_path: Path
) -> None:
    platform = GitPlatform(tmp_path / "gitlab", name="acme/gl-platform")
    token = "gl-hook-token-" + uuid.uuid4().hex[:8]
    registered = world.api(
        "POST",
        "/api/v1/repositories",
        json={
            "name": platform.name,
            "clone_url": platform.clone_url,
            "provider": "gitlab",
            "webhook_secret": token,
        },
    )
    assert registered["reporting"]["enabled"] is False
    _report_with_cli(world, int(registered["id"]), world.vcs.gitlab_url)
    platform.commit(_network(), "network")
    sha = platform.commit_on("feature/mr", _network(2))
    payload = json.loads((WEBHOOKS / "gitlab-merge-request.json").read_text())
    payload = _merge_request(payload, platform, 7, sha)
    answer = world.deployment.webhook_gitlab(json.dumps(payload).encode(), token)
    assert answer.status_code == 202, answer.text
    pipeline = _settled_pipeline(world, pr=7, repository=_repository_id(world, platform.name))
    (run,) = pipeline["runs"]
    assert run["state"] == "FINISHED"
    statuses = world.vcs.statuses(sha=sha, provider="gitlab")
    assert statuses[-1].context == "stackrun/network" and statuses[-1].state == "success"
    notes = list(world.vcs.comments(provider="gitlab").values())
    assert len(notes) == 1 and notes[0].number == 7 and "| network |" in notes[0].body


def _report_with_cli(world: World, repository_id: int, api_url: str) -> None:
    """`stackrun repos report` as a user types it: the VCS token comes from the environment."""
    env = {
        **world.deployment.env,
        "STACKRUN_URL": world.deployment.url,
        "STACKRUN_TOKEN": world.deployment.token("admin"),
        "STACKRUN_VCS_TOKEN": VCS_TOKEN,
    }
    command = [sys.executable, "-m", "orchestrator.cli", "repos", "report"]
    completed = subprocess.run(
        [*command, str(repository_id), "--api-url", api_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert VCS_TOKEN not in completed.stdout
    shown = json.loads(completed.stdout)
    assert shown["reporting"] == {
        "enabled": True,
        "api_url": api_url,
        "project": "acme/gl-platform",
    }


def _repository_id(world: World, name: str) -> int:
    return next(int(r["id"]) for r in world.api("GET", "/api/v1/repositories") if r["name"] == name)


def _merge_request(
    original: dict[str, Any], platform: GitPlatform, iid: int, sha: str
) -> dict[str, Any]:
    payload = copy.deepcopy(original)
    payload["project"]["path_with_namespace"] = platform.name
    payload["project"]["git_http_url"] = platform.clone_url
    attributes = payload["object_attributes"]
    attributes.update(
        {
            "iid": iid,
            "action": "open",
            "source_branch": "feature/mr",
            "target_branch": "main",
            "source_project_id": 1,
            "target_project_id": 1,
        }
    )
    attributes.pop("oldrev", None)
    attributes["last_commit"]["id"] = sha
    return payload


def test_a_feature_branch_push_proposes_without_applying_and_never_delays_a_tracked_run(
    world: World,
) -> None:
    """Acceptance: network → app on a feature branch plans both, applies nothing, leaves the
    managed state alone, while a tracked run of network queued at the same time goes ahead."""
    versions_before = world.state_versions("acme/platform/network")
    sha = world.platform.commit_on("feature/accept", {**_network(5), **_app("# accept\n")})
    push = json.loads(world.platform.push_body(ZERO, sha))
    push["ref"] = "refs/heads/feature/accept"
    assert world.deployment.webhook(json.dumps(push).encode(), SECRET).status_code == 202
    before, after = world.platform.commit(_network(2), "network on main")
    tracked_push = world.platform.push_body(before, after)
    assert world.deployment.webhook(tracked_push, SECRET).status_code == 202

    proposal = world.deployment.wait(
        lambda: next(
            (
                p
                for p in world.pipelines(ref="feature/accept")
                if len(p["runs"]) == 2 and all(r["state"] in TERMINAL for r in p["runs"])
            ),
            None,
        ),
        "the feature branch proposal",
        timeout=180,
    )
    (tracked,) = world.deployment.wait(
        lambda: [r for r in _runs_at(world, after) if r["stack"] == "acme/platform/network"],
        "the tracked run of network",
    )
    tracked = world.deployment.wait_run_state(tracked["id"], {"FINISHED"})
    proposed = {r["stack"]: world.api("GET", f"/api/v1/runs/{r['id']}") for r in proposal["runs"]}
    for run in proposed.values():
        assert run["kind"] == "PROPOSED" and run["state"] == "FINISHED"
        assert "APPLYING" not in [t["to"] for t in run["history"]]
    proposed_ids = {run["id"] for run in proposed.values()}
    versions = world.state_versions("acme/platform/network")
    assert versions[: len(versions_before)] == versions_before
    assert set(versions[len(versions_before) :]) == {tracked["id"]}
    assert not proposed_ids & set(versions)

    started = next(t["at"] for t in tracked["history"] if t["to"] == "PREPARING")
    proposed_network_done = proposed["acme/platform/network"]["finished_at"]
    assert started <= proposed_network_done, "the tracked run waited for the proposal"
