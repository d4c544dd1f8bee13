"""A repository with standing conflicts still plans what a push changed (DESIGN §3): a cycle
of data edges (two stacks reading each other's outputs) and two stacks writing one state are
warnings on the event and the pipeline, not a failed push."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.harness import Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "graph-conflicts-secret"
NULL = 'resource "null_resource" "this" {}\n'
SHARED_LOCAL_STATE = (
    'terraform {\n  backend "local" {\n    path = "../shared/terraform.tfstate"\n  }\n}\n'
)


def _reads(name: str, stack: str) -> str:
    block = f'  input "{name}" {{\n    stack  = "../{stack}"\n    output = "vpc_id"\n  }}\n'
    return "stack {\n" + block + "}\n"


def _network(name: str, peer_variable: str) -> str:
    return (
        f'variable "{peer_variable}" {{\n  default = ""\n}}\n'
        f'output "vpc_id" {{\n  value = "vpc-{name}"\n}}\n' + NULL
    )


# hub ⇄ spoke read each other's outputs (a cycle of data edges); apps reads spoke;
# alpha and beta write the same state.
REPOSITORY = {
    "hub/stackrun.hcl": _reads("spoke_vpc", "spoke"),
    "hub/main.tf": _network("hub", "spoke_vpc"),
    "spoke/stackrun.hcl": _reads("hub_vpc", "hub"),
    "spoke/main.tf": _network("spoke", "hub_vpc"),
    "apps/stackrun.hcl": _reads("spoke_vpc", "spoke"),
    "apps/main.tf": 'variable "spoke_vpc" {\n  default = ""\n}\n' + NULL,
    "alpha/main.tf": SHARED_LOCAL_STATE + NULL,
    "beta/main.tf": SHARED_LOCAL_STATE + NULL,
}
CYCLE = (
    "cycle of data edges (hub → spoke → hub) between hub, spoke: each plans on its own, "
    "and what is downstream of them waits for all of them"
)
DUPLICATE = "stacks alpha and beta write the same state (local path 'shared/terraform.tfstate')"


def _push(deployment: Deployment, platform: GitPlatform, files: dict[str, str]) -> dict[str, Any]:
    before, after = platform.commit(files)
    delivery = f"delivery-{after[:12]}"
    response = deployment.webhook(platform.push_body(before, after), SECRET, delivery=delivery)
    assert response.status_code == 202, response.text

    def processed() -> dict[str, Any] | None:
        with deployment.client() as api:
            event = api.get(f"/api/v1/events/{delivery}").json()
        return event if event["status"] not in ("received", "processing") else None

    event = dict(deployment.wait(processed, f"event {delivery} to be processed"))
    return {**event, "commit": after}


def _runs_of(deployment: Deployment, commit: str) -> dict[str, dict[str, Any]]:
    return {
        r["stack"].rsplit("/", 1)[-1]: r for r in deployment.runs() if r["commit"]["sha"] == commit
    }


def _plan_and_discard(deployment: Deployment, runs: dict[str, dict[str, Any]]) -> None:
    """The first pipeline's hub and spoke plan (neither waits for the other), then are
    discarded, so the next push's runs find their stacks free."""
    for stack in ("hub", "spoke"):
        deployment.wait_run_state(runs[stack]["id"], {"UNCONFIRMED"})
        with deployment.client() as api:
            discarded = api.post(f"/api/v1/runs/{runs[stack]['id']}/discard")
        assert discarded.status_code == 200, discarded.text


def test_a_push_to_a_repository_with_a_data_cycle_and_a_duplicate_state_plans_its_change(
    shared_services: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/conflicts")
    shared_services.register(platform, SECRET)
    first = _push(shared_services, platform, REPOSITORY)
    assert first["status"] == "processed", first
    _plan_and_discard(shared_services, _runs_of(shared_services, first["commit"]))

    pushed = _push(shared_services, platform, {"hub/main.tf": _network("hub-2", "spoke_vpc")})
    assert pushed["status"] == "processed", pushed
    assert CYCLE in pushed["detail"] and DUPLICATE in pushed["detail"]
    runs = _runs_of(shared_services, pushed["commit"])
    assert set(runs) == {"hub", "spoke", "apps"}
    assert runs["hub"]["trigger_reason"] == "changed: hub/main.tf"
    assert runs["hub"]["upstream_runs"] == [] and runs["spoke"]["upstream_runs"] == []
    assert sorted(runs["apps"]["upstream_runs"]) == sorted([runs["hub"]["id"], runs["spoke"]["id"]])
    with shared_services.client("viewer") as api:
        pipeline = api.get(f"/api/v1/pipelines/{runs['hub']['pipeline']}").json()
    assert pipeline["graph_warnings"] == [DUPLICATE, CYCLE]
    for stack in ("hub", "spoke"):  # neither waits for the other
        shared_services.wait_run_state(runs[stack]["id"], {"UNCONFIRMED"})


def test_a_depends_on_cycle_fails_the_runs_of_its_stacks_and_no_other(
    shared_services: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    platform = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/order-cycle")
    shared_services.register(platform, SECRET)
    files = {
        "queue/stackrun.hcl": 'stack {\n  depends_on = ["../worker"]\n}\n',
        "queue/main.tf": NULL,
        "worker/stackrun.hcl": 'stack {\n  depends_on = ["../queue"]\n}\n',
        "worker/main.tf": NULL,
        "billing/main.tf": NULL + "# billing\n",
        "billing/stackrun.hcl": "stack {}\n",
    }
    pushed = _push(shared_services, platform, files)
    assert pushed["status"] == "processed", pushed
    message = (
        "cycle through depends_on (queue → worker, worker → queue) between queue, worker: "
        "these stacks cannot run until it is broken"
    )
    runs = _runs_of(shared_services, pushed["commit"])
    assert set(runs) == {"queue", "worker", "billing"}
    for stack in ("queue", "worker"):
        shared_services.wait_run_state(runs[stack]["id"], {"FAILED"})
        assert message in shared_services.logs_of(runs[stack]["id"])
    shared_services.wait_run_state(runs["billing"]["id"], {"UNCONFIRMED"})
