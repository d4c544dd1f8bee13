"""A stack folder deployed once per environment (DESIGN §3, "Environments"): each instance
gets its own runs, its own -backend-config and -var-file files, its own state, and reads the
state of the upstream instance of its own environment. `network` follows the file convention
(`dev.backend`, `prod.backend`: a partial `pg` backend completed per environment, state in a
PostgreSQL schema of its own); `app` declares its environments in stackrun.hcl and keeps
stackrun-managed state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.integration.conftest import fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "environments-secret"
ENVIRONMENTS = ("dev", "prod")


@pytest.fixture(scope="module")
def state_database() -> Iterator[str]:
    """A database for the pg backend of `network` (libpq's URL form)."""
    with fresh_postgres_database() as url:
        yield url.replace("postgresql+psycopg://", "postgres://") + "?sslmode=disable"


def _repository(state_db: str) -> dict[str, str]:
    files = {
        "network/main.tf": (
            'terraform {\n  backend "pg" {}\n}\n'
            'variable "cidr" {}\n'
            'resource "null_resource" "vpc" {\n  triggers = { cidr = var.cidr }\n}\n'
            'output "cidr" {\n  value = var.cidr\n}\n'
        ),
        "network/stackrun.hcl": "stack {\n  autodeploy = true\n}\n",
        "app/main.tf": (
            'variable "env" {}\nvariable "state_db" {}\n'
            'data "terraform_remote_state" "network" {\n  backend = "pg"\n  config = {\n'
            '    conn_str    = var.state_db\n    schema_name = "network_${var.env}"\n  }\n}\n'
            'output "placed_in" {\n'
            '  value = "${var.env} app in ${data.terraform_remote_state.network.outputs.cidr}"\n'
            "}\n"
        ),
        "app/stackrun.hcl": (
            "stack {\n  autodeploy = true\n"
            + "".join(
                f'  environment "{env}" {{\n    var_files = ["{env}.tfvars"]\n  }}\n'
                for env in ENVIRONMENTS
            )
            + "}\n"
        ),
    }
    for number, env in enumerate(ENVIRONMENTS, start=1):
        files[f"network/{env}.backend"] = (
            f'conn_str    = "{state_db}"\nschema_name = "network_{env}"\n'
        )
        files[f"network/{env}.tfvars"] = f'cidr = "10.{number}.0.0/16"\n'
        files[f"app/{env}.tfvars"] = f'env      = "{env}"\nstate_db = "{state_db}"\n'
    return files


def _push(deployment: Deployment, platform: GitPlatform, files: dict[str, str]) -> dict[str, Any]:
    before, after = platform.commit(files)
    delivery = f"delivery-{after[:12]}"
    response = deployment.webhook(platform.push_body(before, after), SECRET, delivery=delivery)
    assert response.status_code == 202, response.text

    def runs() -> dict[str, dict[str, Any]] | None:
        with deployment.client() as api:
            event = api.get(f"/api/v1/events/{delivery}").json()
        if event["status"] in ("received", "processing"):
            return None
        assert event["status"] == "processed", event
        found = {r["stack"]: r for r in deployment.runs() if r["commit"]["sha"] == after}
        return found or None

    return dict(deployment.wait(runs, f"the runs of commit {after[:12]}"))


def _applied(deployment: Deployment, runs: dict[str, dict[str, Any]]) -> None:
    for run in runs.values():
        deployment.wait_run_state(run["id"], {"FINISHED"}, timeout=180)


def _network_state(state_db: str, env: str) -> dict[str, Any]:
    with psycopg.connect(state_db) as conn:
        row = conn.execute(
            f"SELECT data FROM network_{env}.states WHERE name = 'default'"
        ).fetchone()
    assert row is not None, f"no state in schema network_{env}"
    return dict(json.loads(row[0]))


def _app_output(deployment: Deployment, stack_id: str) -> str:
    with deployment.client() as api:
        response = api.get(f"/api/v1/stacks/{stack_id}/state")
    assert response.status_code == 200, response.text
    return str(response.json()["outputs"]["placed_in"]["value"])


def test_each_environment_instance_runs_with_its_own_files_state_and_upstream(
    shared_services: Deployment,
    tmp_path_factory: pytest.TempPathFactory,
    state_database: str,
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/envs")
    shared_services.register(platform, SECRET)
    runs = _push(shared_services, platform, _repository(state_database))
    stacks = [f"acme/envs/{folder}@{env}" for folder in ("app", "network") for env in ENVIRONMENTS]
    assert sorted(runs) == stacks
    for env in ENVIRONMENTS:
        app, network = runs[f"acme/envs/app@{env}"], runs[f"acme/envs/network@{env}"]
        assert app["upstream_runs"] == [network["id"]]
    _applied(shared_services, runs)

    for number, env in enumerate(ENVIRONMENTS, start=1):
        state = _network_state(state_database, env)
        assert state["outputs"]["cidr"]["value"] == f"10.{number}.0.0/16"
        placed = _app_output(shared_services, f"acme/envs/app@{env}")
        assert placed == f"{env} app in 10.{number}.0.0/16"
        log = shared_services.logs_of(runs[f"acme/envs/network@{env}"]["id"])
        assert f"stackrun: environment {env}" in log
    with shared_services.client("viewer") as api:
        listed = {s["id"]: s for s in api.get("/api/v1/stacks").json()}
    network_dev = listed["acme/envs/network@dev"]
    assert (network_dev["path"], network_dev["environment"]) == ("network", "dev")
    assert network_dev["backend_config_files"] == ["network/dev.backend"]
    assert network_dev["var_files"] == ["network/dev.tfvars"]
    assert listed["acme/envs/app@prod"]["var_files"] == ["app/prod.tfvars"]


def test_a_push_changing_one_environments_file_runs_only_that_environment(
    shared_services: Deployment,
    tmp_path_factory: pytest.TempPathFactory,
    state_database: str,
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/envs-one")
    shared_services.register(platform, SECRET)
    files = {
        path.replace("network", "net"): text.replace("network_", "net_")
        for path, text in _repository(state_database).items()
    }
    _applied(shared_services, _push(shared_services, platform, files))
    runs = _push(shared_services, platform, {"net/prod.tfvars": 'cidr = "10.9.0.0/16"\n'})
    assert sorted(runs) == ["acme/envs-one/app@prod", "acme/envs-one/net@prod"]
    assert runs["acme/envs-one/net@prod"]["trigger_reason"] == "changed: net/prod.tfvars"
    assert runs["acme/envs-one/app@prod"]["trigger_reason"] == "downstream of net@prod"
    _applied(shared_services, runs)
    assert _app_output(shared_services, "acme/envs-one/app@prod") == "prod app in 10.9.0.0/16"
    assert _app_output(shared_services, "acme/envs-one/app@dev") == "dev app in 10.1.0.0/16"
