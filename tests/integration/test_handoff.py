"""The Argo CD hand-off end to end: pushes through the webhook, approvals, real Terraform on a
celery worker, a real GitOps repository, and a stand-in for argocd-server for the API path.

One platform (network → eks → argocd-bootstrap) evolves push after push; each test reads the
state the previous one left, so they run in file order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
import yaml
from jsonschema import Draft7Validator

from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform, start_services
from tests.support.argocd_server import (
    GET_APPLICATION,
    SYNC_APPLICATION,
    ArgoCDStandIn,
)
from tests.support.hooks import seed_gitops

pytestmark = pytest.mark.integration

SECRET = "handoff-secret"
ARGOCD_TOKEN = "argocd-token-never-logged-7f3a"
SCHEMAS = Path(__file__).resolve().parents[2] / "orchestrator" / "handoff" / "schemas"
TERMINAL = {"FINISHED", "FAILED", "SKIPPED", "DISCARDED", "STOPPED", "CANCELED"}
CLUSTER_FOLDER = "clusters/prod-eu"


def _stack(name: str, *inputs: tuple[str, str, str], extra: str = "") -> str:
    blocks = "".join(
        f'  input "{var}" {{\n    stack  = "../{stack}"\n    output = "{output}"\n  }}\n'
        for var, stack, output in inputs
    )
    return f'stack {{\n  name = "{name}"\n{blocks}{extra}}}\n'


def _handoff_block(
    repository: str, *, server: str | None = None, mode: str = "applicationset"
) -> str:
    server_line = f'    server       = "{server}"\n    wait_healthy = "30s"\n' if server else ""
    automated = "    automated = false\n" if server else ""
    return (
        '  labels = ["bootstrap"]\n'
        '  handoff "argocd" {\n'
        f'    repository = "{repository}"\n'
        '    branch     = "main"\n'
        '    path       = "clusters"\n'
        f'    mode       = "{mode}"\n'
        "    root {\n"
        '      repo_url = "https://git.example.com/platform/addons.git"\n'
        '      path     = "bootstrap"\n'
        f"{automated}"
        "    }\n"
        f"{server_line}"
        "  }\n"
    )


NETWORK = (
    'resource "null_resource" "vpc" {\n  triggers = { cidr = "10.0.0.0/16" }\n}\n'
    'output "vpc_id" {\n  value = "vpc-0a1b2c"\n}\n'
)
EKS = (
    'variable "vpc_id" {\n  type = string\n}\n'
    'resource "null_resource" "cluster" {\n  triggers = { vpc = var.vpc_id }\n}\n'
    'output "cluster_name" {\n  value = "prod-eu"\n}\n'
    'output "endpoint" {\n  value = "https://prod-eu.eks.example.com"\n}\n'
    'output "arn" {\n  value = "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu"\n}\n'
)


def _bootstrap(environment: str = "prod", *, bridge: bool = True, comment: str = "") -> str:
    variables = "".join(f'variable "{v}" {{\n  type = string\n}}\n' for v in ("name", "url", "arn"))
    output = (
        'output "gitops_bridge" {\n  value = {\n'
        "    cluster_name = var.name\n"
        "    server       = var.url\n"
        f'    labels       = {{ environment = "{environment}", "stackrun.io/tier" = "platform" }}\n'
        '    annotations  = { aws_cluster_arn = var.arn, vpc = "see network" }\n'
        "  }\n}\n"
        if bridge
        else ""
    )
    return (
        f"# {comment}\n{variables}"
        'resource "null_resource" "argocd" {\n  triggers = { chart = "argo-cd-7.7.0" }\n}\n'
        f"{output}"
    )


def _platform_files(gitops_url: str, **bootstrap: Any) -> dict[str, str]:
    inputs = (("name", "eks", "cluster_name"), ("url", "eks", "endpoint"), ("arn", "eks", "arn"))
    return {
        "network/stackrun.hcl": _stack("network"),
        "network/main.tf": NETWORK,
        "eks/stackrun.hcl": _stack("eks", ("vpc_id", "network", "vpc_id")),
        "eks/main.tf": EKS,
        "bootstrap/stackrun.hcl": _stack(
            "argocd-bootstrap", *inputs, extra=_handoff_block(gitops_url)
        ),
        "bootstrap/main.tf": _bootstrap(**bootstrap),
    }


class World:
    def __init__(self, deployment: Deployment, platform: GitPlatform, gitops: Path) -> None:
        self.deployment = deployment
        self.platform = platform
        self.gitops = gitops

    @property
    def gitops_url(self) -> str:
        return f"file://{self.gitops}"

    def gitops_log(self) -> list[git.Commit]:
        return list(git.Repo(self.gitops).iter_commits("main"))

    def push(self, files: dict[str, str]) -> dict[str, Any]:
        """Push, approve every run that waits for it, and return the settled pipeline."""
        before, after = self.platform.commit(files)
        answer = self.deployment.webhook(self.platform.push_body(before, after), SECRET)
        assert answer.status_code == 202, answer.text
        with self.deployment.client("admin") as api:

            def settled() -> list[dict[str, Any]] | None:
                runs = [r for r in self.deployment.runs() if r["commit"]["sha"] == after]
                for run in runs:
                    if run["state"] == "UNCONFIRMED":
                        api.post(f"/api/v1/runs/{run['id']}/approve", json={"comment": "ok"})
                done = runs and all(r["state"] in TERMINAL for r in runs)
                return runs if done else None

            runs = self.deployment.wait(settled, f"the runs of {after[:8]} to settle", 180)
            pipeline_id = runs[0]["pipeline"]
            return self.pipeline(pipeline_id)

    def pipeline(self, pipeline_id: int) -> dict[str, Any]:
        with self.deployment.client("viewer") as api:
            answer = api.get(f"/api/v1/pipelines/{pipeline_id}")
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

    def settled_handoff(self, pipeline: dict[str, Any], count: int = 1) -> dict[str, Any]:
        """The pipeline's latest hand-off once it is no longer pending."""

        def done() -> dict[str, Any] | None:
            rows = self.pipeline(pipeline["id"])["handoffs"]
            if len(rows) >= count and rows[-1]["status"] != "pending":
                return dict(rows[-1])
            return None

        return self.deployment.wait(done, f"the hand-off of pipeline {pipeline['id']}", 120)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path) -> Iterator[World]:
    root = tmp_path_factory.mktemp("handoff")
    gitops = root / "gitops.git"
    seed_gitops(gitops, root / "seed")
    with fresh_postgres_database() as url:
        deployment = start_services(
            root / "stackrun",
            tf_cli_config,
            url,
            flushed_redis(),
            extra_env={"STACKRUN_ARGOCD_TOKEN": ARGOCD_TOKEN},
        )
        platform = GitPlatform(root / "platform")
        deployment.register(platform, SECRET)
        yield World(deployment, platform, gitops)
        logs = deployment.worker_logs()
        deployment.stop()
    assert ARGOCD_TOKEN not in logs


def _schema(kind: str) -> dict[str, Any]:
    name = {"Application": "application.json", "ApplicationSet": "applicationset.json"}[kind]
    return dict(json.loads((SCHEMAS / name).read_text()))


def _files_at(repo: Path, commit: git.Commit) -> dict[str, dict[str, Any]]:
    tree = commit.tree / CLUSTER_FOLDER
    return {
        blob.name: yaml.safe_load(blob.data_stream.read().decode())
        for blob in tree.traverse()
        if isinstance(blob, git.Blob)
    }


def _runs_finished(pipeline: dict[str, Any]) -> None:
    assert {r["state"] for r in pipeline["runs"]} == {"FINISHED"}, pipeline["runs"]


def test_the_final_stack_applying_commits_the_cluster_to_the_gitops_repository(
    world: World,
) -> None:
    pipeline = world.push(_platform_files(world.gitops_url))
    assert len(pipeline["runs"]) == 3
    _runs_finished(pipeline)
    handoff = world.settled_handoff(pipeline)
    assert handoff["status"] == "committed", handoff
    log = world.gitops_log()
    assert len(log) == 2, "exactly one new commit on top of the existing one"
    head = log[0]
    assert handoff["gitops_commit"] == head.hexsha
    assert head.author.name == "stackrun"
    bootstrap = next(r for r in pipeline["runs"] if r["stack"].endswith("/bootstrap"))
    assert f"pipeline {pipeline['id']}, run {bootstrap['id']}" in head.message
    assert pipeline["commit_sha"] in head.message
    files = _files_at(world.gitops, head)
    assert sorted(files) == ["cluster-secret.yaml", "root-applicationset.yaml"]
    secret = files["cluster-secret.yaml"]
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
    assert secret["metadata"]["labels"]["environment"] == "prod"
    assert secret["stringData"]["server"] == "https://prod-eu.eks.example.com"
    assert secret["stringData"]["name"] == "prod-eu"
    assert (
        secret["metadata"]["annotations"]["aws_cluster_arn"]
        == "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu"
    )
    root = files["root-applicationset.yaml"]
    errors = [e.message for e in Draft7Validator(_schema("ApplicationSet")).iter_errors(root)]
    assert errors == []
    assert root["kind"] == "ApplicationSet"
    assert head.tree / "README.md", "content by others is kept"


def test_every_stack_of_a_repository_that_hands_off_gets_the_boundary_policy(
    world: World,
) -> None:
    with world.deployment.client("viewer") as api:
        runs = api.get("/api/v1/runs").json()
        network = next(r for r in runs if r["stack"].endswith("/network"))
        detail = api.get(f"/api/v1/runs/{network['id']}").json()
    names = {e["policy"] for e in detail["policy_evaluations"]}
    assert any(name.startswith("boundary") for name in names), detail["policy_evaluations"]


def test_a_push_that_changes_no_output_hands_off_unchanged_without_a_commit(world: World) -> None:
    before = world.gitops_log()
    pipeline = world.push({"bootstrap/main.tf": _bootstrap(comment="reword a comment")})
    assert [r["stack"].rsplit("/", 1)[-1] for r in pipeline["runs"]] == ["bootstrap"]
    _runs_finished(pipeline)
    handoff = world.settled_handoff(pipeline)
    assert handoff["status"] == "unchanged", handoff
    assert world.gitops_log() == before
    assert handoff["gitops_commit"] == before[0].hexsha


def test_a_changed_label_makes_a_new_commit(world: World) -> None:
    before = world.gitops_log()
    pipeline = world.push({"bootstrap/main.tf": _bootstrap("staging")})
    _runs_finished(pipeline)
    handoff = world.settled_handoff(pipeline)
    assert handoff["status"] == "committed", handoff
    log = world.gitops_log()
    assert len(log) == len(before) + 1
    secret = _files_at(world.gitops, log[0])["cluster-secret.yaml"]
    assert secret["metadata"]["labels"]["environment"] == "staging"


def test_an_invalid_label_value_fails_the_handoff_and_keeps_the_runs_finished(
    world: World,
) -> None:
    before = world.gitops_log()
    pipeline = world.push({"bootstrap/main.tf": _bootstrap("prod eu!")})
    _runs_finished(pipeline)
    handoff = world.settled_handoff(pipeline)
    assert handoff["status"] == "failed"
    assert "gitops_bridge.labels" in handoff["message"]
    assert "'environment'" in handoff["message"], handoff["message"]
    assert world.gitops_log() == before
    _runs_finished(world.pipeline(pipeline["id"]))


def test_a_missing_gitops_bridge_output_fails_the_handoff(world: World) -> None:
    pipeline = world.push({"bootstrap/main.tf": _bootstrap(bridge=False)})
    _runs_finished(pipeline)
    handoff = world.settled_handoff(pipeline)
    assert handoff["status"] == "failed"
    assert "no gitops_bridge output" in handoff["message"], handoff["message"]


def test_an_unreachable_gitops_repository_fails_the_handoff_and_a_retry_tries_again(
    world: World,
) -> None:
    inputs = (("name", "eks", "cluster_name"), ("url", "eks", "endpoint"), ("arn", "eks", "arn"))
    gone = "file:///nonexistent/gitops.git"
    pipeline = world.push(
        {
            "bootstrap/stackrun.hcl": _stack(
                "argocd-bootstrap", *inputs, extra=_handoff_block(gone)
            ),
            "bootstrap/main.tf": _bootstrap("staging"),
        }
    )
    _runs_finished(pipeline)
    handoff = world.settled_handoff(pipeline)
    assert handoff["status"] == "failed"
    assert handoff["message"].startswith("publishing to the GitOps repository: cloning")
    assert gone in handoff["message"]
    with world.deployment.client("approver") as api:
        refused = api.post(f"/api/v1/pipelines/{pipeline['id']}/handoff")
    assert refused.status_code == 403
    with world.deployment.client("admin") as api:
        retried = api.post(f"/api/v1/pipelines/{pipeline['id']}/handoff")
    assert retried.status_code == 202, retried.text
    again = world.settled_handoff(pipeline, count=2)
    assert again["status"] == "failed" and again["triggered_by"] != "stackrun"
    _runs_finished(world.pipeline(pipeline["id"]))


def test_with_a_server_the_root_application_is_upserted_synced_and_waited_for(
    world: World,
) -> None:
    """The API path against a stand-in for argocd-server that checks every body against
    Argo CD's swagger: app-of-apps with a manual sync policy is synced, then polled until
    Healthy."""
    inputs = (("name", "eks", "cluster_name"), ("url", "eks", "endpoint"), ("arn", "eks", "arn"))
    with ArgoCDStandIn(ARGOCD_TOKEN) as argocd:
        argocd.slow_health_gets = 2
        block = _handoff_block(world.gitops_url, server=argocd.url, mode="app_of_apps")
        pipeline = world.push(
            {"bootstrap/stackrun.hcl": _stack("argocd-bootstrap", *inputs, extra=block)}
        )
        handoff = world.settled_handoff(pipeline)
        assert handoff["status"] == "synced", handoff
        assert handoff["argocd_app"] == "prod-eu-bootstrap"
        assert len(argocd.calls(SYNC_APPLICATION)) == 1
        assert len(argocd.calls(GET_APPLICATION)) >= 3
        assert argocd.violations == []
    files = _files_at(world.gitops, world.gitops_log()[0])
    assert sorted(files) == ["cluster-secret.yaml", "root-application.yaml"]
    errors = [
        e.message
        for e in Draft7Validator(_schema("Application")).iter_errors(files["root-application.yaml"])
    ]
    assert errors == []
