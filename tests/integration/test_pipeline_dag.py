"""A diamond pipeline (network → {eks, db} → app) on two celery worker processes: independent
stacks run in parallel, app waits for both and receives their outputs as TF_VAR_*."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform, spawn, start_services

pytestmark = pytest.mark.integration

SECRET = "diamond-secret"


def _stack_file(*inputs: tuple[str, str, str]) -> str:
    blocks = "".join(
        f'  input "{name}" {{\n    stack  = "../{stack}"\n    output = "{output}"\n  }}\n'
        for name, stack, output in inputs
    )
    return f"stack {{\n  autodeploy = true\n{blocks}}}\n"


def _main(seconds: int, *variables: str, fail: bool = False) -> str:
    command = "exit 1" if fail else f"sleep {seconds}"
    declared = "".join(f'variable "{v}" {{\n  default = ""\n}}\n' for v in variables)
    joined = "/".join(f"${{var.{v}}}" for v in variables) or "none"
    return (
        f"{declared}"
        f'resource "null_resource" "this" {{\n  triggers = {{ seen = "{joined}" }}\n'
        f'  provisioner "local-exec" {{\n    command = "{command}"\n  }}\n}}\n'
        f'output "id" {{\n  value = null_resource.this.id\n}}\n'
        f'output "seen" {{\n  value = "{joined}"\n}}\n'
    )


DIAMOND = {
    "network/stackrun.hcl": _stack_file(),
    "network/main.tf": _main(0),
    "eks/stackrun.hcl": _stack_file(("vpc_id", "network", "id")),
    "eks/main.tf": _main(4, "vpc_id"),
    "db/stackrun.hcl": _stack_file(("vpc_id", "network", "id")),
    "db/main.tf": _main(1, "vpc_id"),
    "app/stackrun.hcl": _stack_file(("eks_id", "eks", "id"), ("db_id", "db", "id")),
    "app/main.tf": _main(0, "eks_id", "db_id"),
}


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path
) -> Iterator[Deployment]:
    with fresh_postgres_database() as url:
        deployment = start_services(
            tmp_path_factory.mktemp("stackrun"), tf_cli_config, url, flushed_redis(), workers=2
        )
        yield deployment
        deployment.stop()


def _pipeline(
    deployment: Deployment, platform: GitPlatform, files: dict[str, str]
) -> dict[str, dict[str, Any]]:
    before, after = platform.commit(files)
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202

    def settled() -> dict[str, dict[str, Any]] | None:
        runs = [r for r in deployment.runs() if r["commit"]["sha"] == after]
        done = all(r["state"] in {"FINISHED", "FAILED", "SKIPPED"} for r in runs)
        return (
            {r["stack"].rsplit("/", 1)[-1]: deployment.run(r["id"]) for r in runs}
            if (runs and done)
            else None
        )

    return dict(deployment.wait(settled, "the pipeline to settle", timeout=240))


def _at(run: dict[str, Any], state: str) -> datetime:
    return next(datetime.fromisoformat(h["at"]) for h in run["history"] if h["to"] == state)


def _outputs(deployment: Deployment, stack: str) -> dict[str, Any]:
    with deployment.client() as api:
        state = api.get(f"/api/v1/stacks/acme/platform/{stack}/state")
    return {k: v["value"] for k, v in json.loads(state.content)["outputs"].items()}


def test_independent_stacks_run_in_parallel_and_the_join_gets_both_outputs(
    two_workers: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"))
    two_workers.register(platform, SECRET)
    runs = _pipeline(two_workers, platform, DIAMOND)
    assert {s: r["state"] for s, r in runs.items()} == dict.fromkeys(
        ["network", "eks", "db", "app"], "FINISHED"
    )
    eks, db, app = runs["eks"], runs["db"], runs["app"]
    assert _at(db, "APPLYING") < _at(eks, "FINISHED"), "db must run while eks runs"
    assert _at(app, "PREPARING") >= max(_at(eks, "FINISHED"), _at(db, "FINISHED"))
    assert sorted(app["upstream_runs"]) == sorted([eks["id"], db["id"]])
    expected = f"{_outputs(two_workers, 'eks')['id']}/{_outputs(two_workers, 'db')['id']}"
    assert _outputs(two_workers, "app")["seen"] == expected
    assert _outputs(two_workers, "eks")["seen"] == _outputs(two_workers, "network")["id"]


def test_a_failed_upstream_skips_its_downstream_and_leaves_the_sibling_alone(
    two_workers: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/second")
    two_workers.register(platform, SECRET)
    broken = {**DIAMOND, "eks/main.tf": _main(0, "vpc_id", fail=True)}
    runs = _pipeline(two_workers, platform, broken)
    assert runs["network"]["state"] == "FINISHED"
    assert runs["eks"]["state"] == "FAILED"
    assert runs["db"]["state"] == "FINISHED"
    assert runs["app"]["state"] == "SKIPPED"
    assert runs["app"]["history"][-1]["reason"] == f"upstream run {runs['eks']['id']} ended FAILED"


def test_downstream_stacks_whose_inputs_did_not_change_are_skipped(
    two_workers: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/third")
    two_workers.register(platform, SECRET)
    always = _stack_file(("vpc_id", "network", "id")).replace(
        "autodeploy = true", "autodeploy = true\n  trigger_always = true"
    )
    first = _pipeline(two_workers, platform, {**DIAMOND, "db/stackrun.hcl": always})
    assert {r["state"] for r in first.values()} == {"FINISHED"}
    again = _pipeline(two_workers, platform, {"network/README.md": "docs only\n"})
    assert again["network"]["state"] == "FINISHED"
    assert again["eks"]["state"] == "SKIPPED"
    assert again["eks"]["history"][-1]["reason"].startswith("inputs unchanged")
    assert again["db"]["state"] == "FINISHED", "trigger_always runs even with the same inputs"
    assert "PLANNING" in [h["to"] for h in again["db"]["history"]]
    assert again["app"]["state"] == "SKIPPED"
    assert again["app"]["history"][-1]["reason"].startswith("inputs unchanged")


def test_a_stack_in_a_worker_pool_runs_only_on_that_pools_workers(
    two_workers: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/pools")
    two_workers.register(platform, SECRET)
    files = {
        "gpu/stackrun.hcl": 'stack {\n  worker_pool = "special"\n}\n',
        "gpu/main.tf": 'resource "null_resource" "x" {}\n',
    }
    before, after = platform.commit(files)
    assert two_workers.webhook(platform.push_body(before, after), SECRET).status_code == 202
    run_id = int(
        two_workers.wait(lambda: two_workers.runs(stack="acme/pools/gpu"), "a run")[0]["id"]
    )
    broker = redis.Redis.from_url(two_workers.env["STACKRUN_BROKER_URL"])
    two_workers.wait(
        lambda: broker.llen("special") >= 1, "the doorbell to wait in the pool's queue"
    )
    assert two_workers.run(run_id)["state"] == "QUEUED", "no worker serves the pool yet"
    log = tmp_path_factory.mktemp("logs") / "special.log"
    two_workers.processes.append(
        spawn(
            [
                sys.executable,
                "-m",
                "orchestrator.cli",
                "worker",
                "--pool",
                "special",
                "--name",
                "special",
            ],
            two_workers.env,
            log,
        )
    )
    two_workers.logs.append(log)
    two_workers.wait_run_state(run_id, {"UNCONFIRMED"}, timeout=120)
    assert "stackrun.plan_run" in log.read_text(), "the pool's own worker planned it"


def test_a_stack_reading_local_state_gets_the_managed_state_of_its_upstream(
    two_workers: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/local")
    two_workers.register(platform, SECRET)
    reader = (
        'data "terraform_remote_state" "net" {\n  backend = "local"\n'
        '  config = {\n    path = "${path.module}/../net/terraform.tfstate"\n  }\n}\n'
        'output "seen" {\n  value = data.terraform_remote_state.net.outputs.id\n}\n'
        'resource "null_resource" "r" {\n'
        "  triggers = { vpc = data.terraform_remote_state.net.outputs.id }\n}\n"
    )
    files = {
        "net/stackrun.hcl": "stack {\n  autodeploy = true\n}\n",
        "net/main.tf": _main(0),
        "app/stackrun.hcl": "stack {\n  autodeploy = true\n}\n",
        "app/main.tf": reader,
    }
    runs = _pipeline(two_workers, platform, files)
    assert runs["net"]["state"] == "FINISHED" and runs["app"]["state"] == "FINISHED", runs
    assert runs["app"]["upstream_runs"] == [runs["net"]["id"]]
    log = two_workers.logs_of(runs["app"]["id"])
    assert "wrote the current state of acme/local/net to net/terraform.tfstate" in log
    with two_workers.client() as api:
        net = json.loads(api.get("/api/v1/stacks/acme/local/net/state").content)
        app = json.loads(api.get("/api/v1/stacks/acme/local/app/state").content)
    assert app["outputs"]["seen"]["value"] == net["outputs"]["id"]["value"]
