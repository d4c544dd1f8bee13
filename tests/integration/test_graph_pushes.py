"""Pushes plan exactly what the stack graph says; standing conflicts (cycles, two stacks
writing one state) stop only the stacks they concern."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "graph-push-secret"
NULL = 'resource "null_resource" "this" {}\n'
PLATFORM = {
    "modules/tagger/main.tf": 'resource "null_resource" "tag" {\n  triggers = { v = "1" }\n}\n',
    "network/stackrun.hcl": 'stack {\n  name = "network"\n}\n',
    "network/main.tf": (
        'module "tags" {\n  source = "../modules/tagger"\n}\n'
        'output "vpc_id" {\n  value = "vpc-1"\n}\n'
    ),
    "eks/stackrun.hcl": (
        'stack {\n  input "vpc_id" {\n    stack  = "../network"\n    output = "vpc_id"\n  }\n}\n'
    ),
    "eks/main.tf": 'variable "vpc_id" {\n  default = ""\n}\n' + NULL,
    "apps/stackrun.hcl": 'stack {\n  depends_on = ["../eks"]\n}\n',
    "apps/main.tf": NULL,
    "dns/stackrun.hcl": "stack {}\n",
    "dns/main.tf": NULL,
}


def _push(deployment: Deployment, platform: GitPlatform, files: dict[str, str]) -> tuple[str, str]:
    before, after = platform.commit(files)
    delivery = f"delivery-{after[:12]}"
    response = deployment.webhook(platform.push_body(before, after), SECRET, delivery=delivery)
    assert response.status_code == 202, response.text
    return delivery, after


def _event(deployment: Deployment, delivery: str) -> dict[str, Any]:
    def processed() -> dict[str, Any] | None:
        with deployment.client() as api:
            event = api.get(f"/api/v1/events/{delivery}").json()
        return event if event["status"] not in ("received", "processing") else None

    return dict(deployment.wait(processed, f"event {delivery} to be processed"))


def _runs_of(deployment: Deployment, commit: str) -> dict[str, dict[str, Any]]:
    return {
        r["stack"].rsplit("/", 1)[-1]: r for r in deployment.runs() if r["commit"]["sha"] == commit
    }


@pytest.fixture(scope="module")
def platform(shared_services: Deployment, tmp_path_factory: pytest.TempPathFactory) -> GitPlatform:
    repo = GitPlatform(tmp_path_factory.mktemp("git"))
    shared_services.register(repo, SECRET)
    delivery, after = _push(shared_services, repo, PLATFORM)
    assert _event(shared_services, delivery)["status"] == "processed"
    assert set(_runs_of(shared_services, after)) == {"network", "eks", "apps", "dns"}
    return repo


def test_the_graph_api_shows_data_and_order_edges(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    with shared_services.client("viewer") as api:
        repository = api.get("/api/v1/repositories").json()[0]
        graph = api.get(f"/api/v1/repositories/{repository['id']}/graph").json()
    edges = {(e["from"], e["to"], e["kind"]) for e in graph["edges"]}
    assert edges == {("network", "eks", "data"), ("eks", "apps", "order")}
    assert graph["commit"] == platform.head


def test_a_shared_module_change_plans_its_users_and_their_data_downstream_only(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    changed = {
        "modules/tagger/main.tf": 'resource "null_resource" "tag" {\n  triggers = { v = "2" }\n}\n'
    }
    delivery, after = _push(shared_services, platform, changed)
    event = _event(shared_services, delivery)
    assert event["status"] == "processed", event
    runs = _runs_of(shared_services, after)
    assert set(runs) == {"network", "eks"}
    assert runs["network"]["trigger_reason"] == (
        "module modules/tagger changed: modules/tagger/main.tf"
    )
    assert runs["eks"]["trigger_reason"] == "downstream of network"
    assert runs["eks"]["upstream_runs"] == [runs["network"]["id"]]


def test_a_depends_on_cycle_fails_the_runs_of_its_stacks_only(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    cycle = {"network/stackrun.hcl": 'stack {\n  name = "network"\n  depends_on = ["../apps"]\n}\n'}
    delivery, after = _push(shared_services, platform, cycle)
    event = _event(shared_services, delivery)
    assert event["status"] == "processed", event
    message = (
        "cycle through depends_on (apps → network, eks → apps) between apps, eks, network: "
        "these stacks cannot run until it is broken"
    )
    assert message in event["detail"]
    # their runs fail before Terraform (test_graph_conflicts_push.py waits for that)
    assert set(_runs_of(shared_services, after)) == {"network", "eks"}


def test_two_stacks_writing_one_state_are_a_warning_and_the_push_plans_them(
    shared_services: Deployment, platform: GitPlatform
) -> None:
    backend = 'terraform {\n  backend "local" {\n    path = "../shared.tfstate"\n  }\n}\n'
    files = {
        "network/stackrun.hcl": 'stack {\n  name = "network"\n}\n',
        "billing/main.tf": backend + NULL,
        "audit/main.tf": backend + NULL,
    }
    delivery, after = _push(shared_services, platform, files)
    event = _event(shared_services, delivery)
    assert event["status"] == "processed", event
    assert (
        "stacks audit and billing write the same state (local path 'shared.tfstate')"
        in event["detail"]
    )
    assert set(_runs_of(shared_services, after)) == {"network", "eks", "billing", "audit"}
