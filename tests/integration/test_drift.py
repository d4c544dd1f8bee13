"""Drift detection end to end: beat's drift_tick finds real drift in a real plan, reconcile
applies it through the normal path, and one slot never starts two checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from orchestrator.drift import dispatch
from orchestrator.drift import service as drift
from orchestrator.models import DriftCheck, Run, Stack
from orchestrator.runstate import RunKind
from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform, start_services
from tests.support.hooks import Receiver

pytestmark = pytest.mark.integration

SECRET = "drift-test-secret"
HOOK_SECRET = "notify-signing-secret-0123"
STACK = "acme/drift/app"


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path
) -> Iterator[Deployment]:
    """API, one worker and beat, ticking every two seconds."""
    with fresh_postgres_database() as url:
        running = start_services(
            tmp_path_factory.mktemp("stackrun"),
            tf_cli_config,
            url,
            flushed_redis(),
            beat=True,
            extra_env={
                "STACKRUN_DRIFT_TICK_SECONDS": "2",
                "STACKRUN_DRIFT_SPREAD_SECONDS": "1",
                "STACKRUN_NOTIFY_SECONDS": "1",
                "STACKRUN_NOTIFY_BACKOFF_SECONDS": "0.5",
                "STACKRUN_NOTIFY_MAX_ATTEMPTS": "3",
            },
        )
        yield running
        running.stop()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    good, broken = Receiver(204), Receiver(500)
    yield good, broken
    good.close()
    broken.close()


def _files(schedule: str = "* * * * *") -> dict[str, str]:
    """A stack whose plan reads `var.seen`, a repository variable: changing it through the API
    is an input changed out of band (terraform runs sandboxed, so it cannot read host files)."""
    return {
        "app/stackrun.hcl": (
            "stack {\n  autodeploy = true\n"
            f'  drift_detection {{\n    schedule  = "{schedule}"\n    reconcile = true\n  }}\n}}\n'
        ),
        "app/main.tf": (
            'variable "seen" {\n  type = string\n}\n'
            'resource "null_resource" "x" {\n  triggers = { seen = var.seen }\n}\n'
        ),
    }


def _set_seen(deployment: Deployment, repository_id: int, value: str) -> None:
    with deployment.client() as api:
        answer = api.put(
            f"/api/v1/repositories/{repository_id}/variables",
            json={"name": "seen", "value": value, "kind": "terraform"},
        )
    assert answer.status_code == 200, answer.text


def _drift(deployment: Deployment) -> dict[str, Any]:
    with deployment.client() as api:
        return dict(api.get(f"/api/v1/stacks/{STACK}/drift").json())


def test_a_scheduled_check_finds_real_drift_and_reconcile_brings_the_stack_back(
    deployment: Deployment, tmp_path: Path, receivers: tuple[Receiver, Receiver]
) -> None:
    good, broken = receivers
    with deployment.client() as api:
        for receiver in receivers:
            made = api.post(
                "/api/v1/notifications",
                json={"url": receiver.url, "events": ["drift.detected"], "secret": HOOK_SECRET},
            )
            assert made.status_code == 201, made.text
            assert HOOK_SECRET not in made.text
    platform = GitPlatform(tmp_path / "git", name="acme/drift")
    repository = deployment.register(platform, SECRET)
    _set_seen(deployment, repository["id"], "as applied")
    before, after = platform.commit(_files())
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
    applied = deployment.wait(lambda: deployment.runs(stack=STACK), "the first run")
    deployment.wait_run_state(int(applied[-1]["id"]), {"FINISHED"}, timeout=180)

    _set_seen(deployment, repository["id"], "changed by hand")
    found = deployment.wait(
        lambda: [c for c in _drift(deployment)["checks"] if c["status"] == "drifted"],
        "a scheduled drift check to find the drift",
        timeout=150,
    )
    check = found[0]
    assert check["resources"] == [{"address": "null_resource.x", "actions": ["delete", "create"]}]
    drift_run = deployment.run(int(check["run"]))
    assert (drift_run["kind"], drift_run["commit"]["sha"]) == ("DRIFT", after)

    reconcile = deployment.wait_run_state(int(check["reconcile_run"]), {"FINISHED"}, timeout=180)
    assert (reconcile["kind"], reconcile["commit"]["sha"]) == ("TRACKED", after)
    assert reconcile["plan_summary"] == {"add": 1, "change": 0, "destroy": 1}

    with deployment.client("approver") as api:
        started = api.post(f"/api/v1/stacks/{STACK}/drift-check")
    assert started.status_code == 201, started.text
    manual = deployment.wait_run_state(int(started.json()["run"]), {"FINISHED"}, timeout=180)
    assert manual["kind"] == "DRIFT"
    latest = _drift(deployment)
    assert latest["checks"][0]["run"] == manual["id"]
    assert (latest["checks"][0]["status"], latest["drift_status"]) == ("no_drift", "no_drift")

    (headers, body), *rest = [(h, b) for h, b in good.received]
    assert rest == [], "exactly one notification for one drifted check"
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-stackrun-signature-256"], expected)
    sent = json.loads(body)
    assert sent["event"] == "drift.detected" and sent["stack"] == STACK
    assert sent["drift"]["check"] == check["id"]
    assert sent["text"].startswith(f"stackrun: drift detected on {STACK}: null_resource.x")

    def disabled() -> dict[str, Any] | None:
        with deployment.client() as api:
            targets = api.get("/api/v1/notifications").json()
        mine = [t for t in targets if t["url"] == broken.url and not t["enabled"]]
        return mine[0] if mine else None

    target = deployment.wait(disabled, "the failing receiver's target to be disabled", timeout=60)
    assert len(broken.received) == 3
    assert "failed 3 times, last: the receiver answered 500" in target["disabled_reason"]


def test_an_invalid_schedule_in_a_patch_is_refused_and_nothing_is_stored(
    deployment: Deployment,
) -> None:
    with deployment.client() as api:
        refused = api.patch(
            f"/api/v1/stacks/{STACK}",
            json={"drift_detection": {"schedules": ["0 * * * *", "61 * * * *"]}},
        )
        assert refused.status_code == 422
        assert "'61 * * * *' is not a valid cron expression" in refused.json()["detail"]
        assert api.get(f"/api/v1/stacks/{STACK}/drift").json()["schedules"] == ["* * * * *"]
        viewer = api.patch(
            f"/api/v1/stacks/{STACK}",
            json={"drift_detection": None},
            headers={"Authorization": f"Bearer {deployment.token('viewer')}"},
        )
        assert viewer.status_code == 403
        paused = api.patch(f"/api/v1/stacks/{STACK}", json={"drift_detection": {"schedules": []}})
        assert paused.status_code == 200, paused.text
        assert api.get(f"/api/v1/stacks/{STACK}/drift").json()["schedules"] == []


def test_two_ticks_for_the_same_slot_at_once_start_exactly_one_check(
    deployment: Deployment,
) -> None:
    engine = create_engine(deployment.env["STACKRUN_DATABASE_URL"])
    with Session(engine) as session:
        stack = session.get(Stack, STACK)
        assert stack is not None
        stack.drift_override = {"schedules": ["0 0 1 1 *"], "reconcile": False}
        session.commit()
    moment = datetime(2031, 1, 1, 0, 0, 30, tzinfo=UTC)
    claimed: list[int] = []
    started: list[int] = []

    def tick(session: Session) -> None:
        claimed.extend(s.check_id for s in drift.tick(session, moment, 0))

    def batch(session: Session) -> None:  # each beat's batch, or one batch delivered twice
        started.extend(b.target_id for b in dispatch.dispatch(session, list(claimed)))

    _twice_at_once(engine, tick)
    _twice_at_once(engine, batch)
    with Session(engine) as session:
        slot = datetime(2031, 1, 1, tzinfo=UTC)
        checks = session.scalar(
            select(func.count()).select_from(DriftCheck).where(DriftCheck.slot == slot)
        )
        runs = session.scalars(
            select(Run.id).where(Run.kind == RunKind.DRIFT, Run.id.in_(started))
        ).all()
        given = session.scalar(select(DriftCheck.run_id).where(DriftCheck.slot == slot))
    engine.dispose()
    assert (checks, len(claimed), len(started), len(runs)) == (1, 1, 1, 1)
    assert given == started[0]


def _twice_at_once(engine: Engine, step: Callable[[Session], None]) -> None:
    """`step` in two threads at the same moment, each in its own transaction."""
    barrier = threading.Barrier(2)

    def run() -> None:
        with Session(engine) as session:
            barrier.wait()
            step(session)
            session.commit()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
