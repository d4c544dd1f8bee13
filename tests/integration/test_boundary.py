"""The Argo CD ↔ Terraform boundary end to end (issue 22): real pushes, real Terraform on a
celery worker, a real GitOps repository, the swagger-checked Argo CD stand-in serving managed
resources and resource trees, and a notification receiver.

A database stack's state gains an ARN (the null provider's state, pushed out of band with the
ARN an RDS instance would have); an application of the handed-off cluster adopts it through an
ACK DBInstance. One scenario, in order: found after the hand-off, announced once, answered by
"who owns", kept through an Argo CD outage, named by a drift check, refused by a plan policy,
and closed once the application drops it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from orchestrator.models import StateVersion
from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform, start_services
from tests.support.argocd_server import LIST_APPLICATIONS, UNAVAILABLE, ArgoCDStandIn
from tests.support.hooks import Receiver, seed_gitops

pytestmark = pytest.mark.integration

SECRET = "boundary-push-secret"
HOOK_SECRET = "boundary-signing-secret-42"
TOKEN = "argocd-token-boundary-9e1f"
DB_ARN = "arn:aws:rds:eu-west-1:111122223333:db:payments"
CLUSTER_SERVER = "https://prod-eu.eks.example.com"
DATABASE = "acme/boundary/database"
PLATFORM = "acme/boundary/bootstrap"
TERMINAL = {"FINISHED", "FAILED", "SKIPPED", "DISCARDED", "STOPPED", "CANCELED"}
# An ACK DBInstance as the rds-controller's CRD (rds.services.k8s.aws/v1alpha1) shapes it.
DB_INSTANCE = {
    "apiVersion": "rds.services.k8s.aws/v1alpha1",
    "kind": "DBInstance",
    "metadata": {"name": "main", "namespace": "payments"},
    "spec": {"dbInstanceIdentifier": "payments", "dbInstanceClass": "db.t4g.micro"},
    "status": {"ackResourceMetadata": {"arn": DB_ARN, "ownerAccountID": "111122223333"}},
}
PAYMENTS_DB_APP = {
    "metadata": {"name": "payments-db", "namespace": "argocd"},
    "spec": {
        "project": "default",
        "source": {"repoURL": "https://git.example.com/apps.git", "path": "payments-db"},
        "destination": {"server": CLUSTER_SERVER, "namespace": "payments"},
    },
}


def _files(gitops: str, server: str, size: str = "small") -> dict[str, str]:
    bootstrap = (
        'stack {\n  name = "bootstrap"\n  labels = ["bootstrap"]\n'
        f'  handoff "argocd" {{\n    repository = "{gitops}"\n    branch = "main"\n'
        '    path = "clusters"\n    mode = "app_of_apps"\n'
        '    root {\n      repo_url = "https://git.example.com/platform/addons.git"\n'
        '      path = "bootstrap"\n      automated = false\n    }\n'
        f'    server = "{server}"\n    wait_healthy = "30s"\n  }}\n}}\n'
    )
    bridge = (
        'resource "null_resource" "argocd" {\n  triggers = { chart = "argo-cd-7.7.0" }\n}\n'
        'output "gitops_bridge" {\n  value = {\n    cluster_name = "prod-eu"\n'
        f'    server = "{CLUSTER_SERVER}"\n    labels = {{ environment = "prod" }}\n'
        "    annotations = {}\n  }\n}\n"
    )
    return {
        "database/stackrun.hcl": 'stack {\n  labels = ["data"]\n}\n',
        "database/main.tf": (
            f'resource "null_resource" "main" {{\n  triggers = {{ size = "{size}" }}\n}}\n'
        ),
        "bootstrap/stackrun.hcl": bootstrap,
        "bootstrap/main.tf": bridge,
    }


@dataclass
class World:
    deployment: Deployment
    platform: GitPlatform
    argocd: ArgoCDStandIn
    receiver: Receiver
    database_url: str
    gitops: str

    def push(self, files: dict[str, str]) -> list[dict[str, Any]]:
        """Push, approve what waits, and return the settled runs of the commit."""
        before, after = self.platform.commit(files)
        assert (
            self.deployment.webhook(self.platform.push_body(before, after), SECRET).status_code
            == 202
        )
        with self.deployment.client("admin") as api:

            def settled() -> list[dict[str, Any]] | None:
                runs = [r for r in self.deployment.runs() if r["commit"]["sha"] == after]
                for run in runs:
                    if run["state"] == "UNCONFIRMED":
                        api.post(f"/api/v1/runs/{run['id']}/approve", json={"comment": "ok"})
                return runs if runs and all(r["state"] in TERMINAL for r in runs) else None

            return list(self.deployment.wait(settled, f"the runs of {after[:8]}", 180))

    def get(self, path: str, role: str = "viewer", **params: Any) -> Any:
        with self.deployment.client(role) as api:
            answer = api.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def checks(self) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/boundary", platform=PLATFORM, status="all")["checks"])

    def check_now(self) -> dict[str, Any]:
        """Ask for a check (admin) and wait for it to be recorded."""
        before = len(self.checks())
        with self.deployment.client("admin") as api:
            assert api.post("/api/v1/boundary/check").status_code == 202
        return dict(
            self.deployment.wait(
                lambda: self.checks()[0] if len(self.checks()) > before else None,
                "a boundary check",
                60,
            )
        )

    def findings(self, status: str = "open") -> list[dict[str, Any]]:
        return list(self.get("/api/v1/boundary", platform=PLATFORM, status=status)["findings"])

    def push_state_with_arn(self) -> None:
        """An out-of-band `terraform state push`: the database's latest state, its
        null_resource carrying the ARN an RDS instance has and a changed trigger."""
        engine = create_engine(self.database_url)
        with Session(engine) as session, session.begin():
            latest = session.scalars(
                select(StateVersion)
                .where(StateVersion.stack_id == DATABASE)
                .order_by(StateVersion.id.desc())
            ).first()
            assert latest is not None
            state = json.loads(latest.content)
            (resource,) = [r for r in state["resources"] if r["type"] == "null_resource"]
            attributes = resource["instances"][0]["attributes"]
            attributes["arn"] = DB_ARN
            attributes["triggers"] = {"size": "large"}
            state["serial"] += 1
            content = json.dumps(state).encode()
            session.add(
                StateVersion(
                    stack_id=DATABASE,
                    serial=state["serial"],
                    lineage=state["lineage"],
                    sha256=hashlib.sha256(content).hexdigest(),
                    content=content,
                )
            )
        engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path) -> Iterator[World]:
    root = tmp_path_factory.mktemp("boundary")
    seed_gitops(root / "gitops.git", root / "seed")
    receiver = Receiver()
    with fresh_postgres_database() as url, ArgoCDStandIn(TOKEN) as argocd:
        deployment = start_services(
            root / "stackrun",
            tf_cli_config,
            url,
            flushed_redis(),
            beat=True,
            extra_env={
                "STACKRUN_ARGOCD_TOKEN": TOKEN,
                "STACKRUN_BOUNDARY_CHECK_SECONDS": "0",
                "STACKRUN_NOTIFY_SECONDS": "1",
            },
        )
        platform = GitPlatform(root / "platform", name="acme/boundary")
        deployment.register(platform, SECRET)
        with deployment.client("admin") as api:
            made = api.post(
                "/api/v1/notifications",
                json={
                    "url": receiver.url,
                    "events": ["boundary.violation", "drift.detected"],
                    "secret": HOOK_SECRET,
                },
            )
            assert made.status_code == 201, made.text
            policy = {"name": "argocd-also-manages", "builtin": "argocd-also-manages"}
            made = api.post("/api/v1/policies", json=policy | {"attach_labels": ["data"]})
            assert made.status_code == 201, made.text
        yield World(deployment, platform, argocd, receiver, url, f"file://{root / 'gitops.git'}")
        logs = deployment.worker_logs()
        deployment.stop()
        assert argocd.violations == []
    receiver.close()
    assert TOKEN not in logs


def test_an_application_adopting_a_stacks_database_is_found_named_refused_and_closed(
    world: World,
) -> None:
    runs = world.push(_files(world.gitops, world.argocd.url))
    assert {r["state"] for r in runs} == {"FINISHED"}, runs
    pipeline_id = runs[0]["pipeline"]
    first = world.deployment.wait(
        lambda: world.checks() or None, "the check after the hand-off", 120
    )
    assert first[0]["trigger"] == "handoff" and first[0]["status"] == "ok", first
    assert world.findings() == []

    # the state gains the ARN; an application of the cluster adopts the database
    world.push_state_with_arn()
    world.argocd.manage(PAYMENTS_DB_APP, [DB_INSTANCE])
    with world.deployment.client("admin") as api:
        assert api.post(f"/api/v1/pipelines/{pipeline_id}/handoff").status_code == 202
    world.deployment.wait(
        lambda: len(world.checks()) >= 2 or None, "the second hand-off's check", 120
    )
    (finding,) = world.findings()
    assert (finding["app"], finding["stack"], finding["address"]) == (
        "payments-db",
        DATABASE,
        "null_resource.main",
    )
    assert finding["object"]["text"] == "ACK DBInstance payments/main"
    assert finding["identity"] == f"arn:{DB_ARN}"
    pipeline = world.get(f"/api/v1/pipelines/{pipeline_id}")
    assert [f["key"] for f in pipeline["boundary"]["findings"]] == [finding["key"]]
    assert {c["trigger"] for c in pipeline["boundary"]["checks"]} == {"handoff"}
    (violation,) = world.deployment.wait(
        lambda: world.receiver.events("boundary.violation", HOOK_SECRET) or None,
        "the notification",
        60,
    )
    assert "Argo CD application `payments-db`" in violation["text"]

    owners = world.get("/api/v1/boundary/owners", arn=DB_ARN)
    assert [(t["stack"], t["address"]) for t in owners["terraform"]] == [
        (DATABASE, "null_resource.main")
    ]
    assert [a["app"] for a in owners["argocd"]] == ["payments-db"]

    # Argo CD down: a failed check says why, and the finding stays as it was
    world.argocd.fail(LIST_APPLICATIONS, UNAVAILABLE, times=2)
    failed = world.check_now()
    assert failed["status"] == "failed", failed
    assert "503" in failed["message"] and "findings left as they were" in failed["message"]
    assert [f["key"] for f in world.findings()] == [finding["key"]]
    again = world.check_now()
    assert again["status"] == "ok" and again["open_findings"] == 1
    assert len(world.receiver.events("boundary.violation", HOOK_SECRET)) == 1, (
        "announced once, not per check"
    )

    _drift_names_the_application(world)
    _policy_refuses_the_stack(world)

    # the application drops the DBInstance: the finding closes, with the reason
    world.argocd.manage(PAYMENTS_DB_APP, [])
    closing = world.check_now()
    assert closing["status"] == "ok" and closing["open_findings"] == 0, closing
    assert world.findings() == []
    (closed,) = world.findings("closed")
    assert "no longer manages" in closed["close_reason"]
    assert len(world.receiver.events("boundary.violation", HOOK_SECRET)) == 1


def _drift_names_the_application(world: World) -> None:
    with world.deployment.client("admin") as api:
        started = api.post(f"/api/v1/stacks/{DATABASE}/drift-check")
    assert started.status_code == 201, started.text
    world.deployment.wait_run_state(int(started.json()["run"]), {"FINISHED"}, timeout=180)

    def drifted() -> dict[str, Any] | None:
        checks = world.get(f"/api/v1/stacks/{DATABASE}/drift")["checks"]
        return checks[0] if checks and checks[0]["status"] == "drifted" else None

    check = world.deployment.wait(drifted, "the drift check", 60)
    (resource,) = check["resources"]
    assert resource["managed_by"] == [
        {"app": "payments-db", "object": "ACK DBInstance payments/main"}
    ]
    (notice,) = world.deployment.wait(
        lambda: world.receiver.events("drift.detected", HOOK_SECRET) or None,
        "the drift notification",
        60,
    )
    assert (
        "null_resource.main drifted; also managed by Argo CD application `payments-db` "
        "(ACK DBInstance payments/main)"
    ) in notice["text"]


def _policy_refuses_the_stack(world: World) -> None:
    files = _files(world.gitops, world.argocd.url, size="medium")
    runs = world.push({"database/main.tf": files["database/main.tf"]})
    (run,) = runs
    assert run["state"] == "FAILED", run
    detail = world.get(f"/api/v1/runs/{run['id']}")
    reason = detail["failure_reason"]
    assert reason.startswith("plan policy denied: argocd-also-manages: null_resource.main: planned")
    assert "Argo CD application payments-db also manages it (DBInstance payments/main)" in reason
