"""The fault suite (issue 16): a fault per test, real processes, PostgreSQL, Redis and
Terraform; afterwards the same invariants — nothing applied twice (counted outside stackrun,
over loopback HTTP), no run left in a non-terminal state, no state version lost, every lock
explained. docs/RELIABILITY.md lists each scenario with its promise and result."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.integration.conftest import flushed_redis, reaping_deployment
from tests.integration.harness import (
    Deployment,
    GitPlatform,
    spawn,
    start_services,
)
from tests.integration.invariants import assert_invariants, settled
from tests.support.apply_counter import ApplyCounter
from tests.support.moto_server import moto_server
from tests.support.private_postgres import available as private_postgres_available
from tests.support.private_postgres import private_postgres

pytestmark = pytest.mark.integration

SECRET = "faults-webhook-secret"


@pytest.fixture
def counter() -> Iterator[ApplyCounter]:
    with ApplyCounter() as running:
        yield running


def _autodeploy(name: str, body: str) -> dict[str, str]:
    return {f"{name}/stackrun.hcl": "stack {\n  autodeploy = true\n}\n", f"{name}/main.tf": body}


def _counted(counter: ApplyCounter, name: str, then: str = "true") -> str:
    """A null_resource whose apply hits the counter once, then runs `then`."""
    command = f"{counter.mark(name)}; {then}"
    return (
        f'resource "null_resource" "{name}" {{\n'
        f'  provisioner "local-exec" {{\n    command = "{command}"\n  }}\n}}\n'
    )


def test_output_that_is_not_utf8_never_loses_the_state_of_the_apply(
    services: Deployment, platform: GitPlatform, counter: ApplyCounter
) -> None:
    services.register(platform, SECRET)
    noisy = _counted(counter, "noisy", then="printf 'bytes \\\\377\\\\376 here'; sleep 3")
    before, after = platform.commit(_autodeploy("noisy", noisy))
    assert services.webhook(platform.push_body(before, after), SECRET).status_code == 202
    (run,) = settled(services, 1)
    assert run["state"] == "FINISHED", run["failure_reason"]
    assert "bytes \ufffd\ufffd here" in services.logs_of(run["id"])
    with services.client() as api:
        state = api.get("/api/v1/stacks/acme/platform/noisy/state")
    assert state.status_code == 200
    assert [r["type"] for r in state.json()["resources"]] == ["null_resource"]
    assert counter.count("noisy") == 1
    assert_invariants(services, counter)


def test_a_binary_tf_file_fails_its_stack_with_a_clear_reason_and_others_apply(
    services: Deployment, platform: GitPlatform, counter: ApplyCounter
) -> None:
    services.register(platform, SECRET)
    files = {**_autodeploy("good", _counted(counter, "good"))}
    files["bad/stackrun.hcl"] = "stack {\n  autodeploy = true\n}\n"
    platform.commit(files)
    (platform.work / "bad" / "main.tf").write_bytes(b'output "x" {\n  value = "\xff\xfe"\n}\n')
    platform.repo.git.add(A=True)
    platform.repo.index.commit("a binary file")
    platform.repo.git.push("origin", "main")
    after = platform.repo.head.commit.hexsha
    assert services.webhook(platform.push_body("0" * 40, after), SECRET).status_code == 202
    runs = {r["stack"]: r for r in settled(services, 2)}
    assert runs["acme/platform/good"]["state"] == "FINISHED"
    bad = runs["acme/platform/bad"]
    assert bad["state"] == "FAILED"
    assert "codec can't decode" not in bad["failure_reason"]
    assert "main.tf" in bad["failure_reason"], bad["failure_reason"]
    assert_invariants(services, counter)


LEASE_SECONDS = 6


@pytest.fixture
def supervised(tmp_path: Path, tf_cli_config: Path) -> Iterator[Deployment]:
    """API, one worker and beat (the reaper every second) on PostgreSQL and Redis."""
    with reaping_deployment(tmp_path / "stackrun", tf_cli_config, LEASE_SECONDS) as running:
        yield running


def _replace_worker(deployment: Deployment, tmp_path: Path, name: str) -> None:
    """SIGKILL the first worker's process group and start another in its place."""
    worker = deployment.processes[1]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    log = tmp_path / f"{name}.log"
    deployment.processes.append(
        spawn(
            [sys.executable, "-m", "orchestrator.cli", "worker", "--name", name],
            deployment.env,
            log,
        )
    )
    deployment.logs.append(log)


SLOW_PLAN = 'resource "null_resource" "many" {\n  count = 600\n}\n'


def test_a_worker_killed_during_a_plan_is_replanned_once_and_the_pipeline_completes(
    supervised: Deployment, platform: GitPlatform, counter: ApplyCounter, tmp_path: Path
) -> None:
    supervised.register(platform, SECRET)
    files = {**_autodeploy("net", SLOW_PLAN), **_autodeploy("app", _counted(counter, "app"))}
    files["app/stackrun.hcl"] = 'stack {\n  autodeploy = true\n  depends_on = ["../net"]\n}\n'
    before, after = platform.commit(files)
    assert supervised.webhook(platform.push_body(before, after), SECRET).status_code == 202
    net = supervised.wait(
        lambda: [r for r in supervised.runs(stack="acme/platform/net") if r["state"] == "PLANNING"],
        "net to be planning",
    )[0]
    _replace_worker(supervised, tmp_path, "worker-after-plan-kill")
    runs = sorted(settled(supervised, 3), key=lambda r: r["id"])
    nets = [r for r in runs if r["stack"] == "acme/platform/net"]
    assert [(r["state"], r["failure_reason"]) for r in nets] == [
        ("FAILED", "worker_lost"),
        ("FINISHED", None),
    ], nets
    assert nets[0]["id"] == net["id"]
    assert nets[1]["trigger_reason"] == f"attempt 2 after run {net['id']} lost its worker"
    (app,) = [r for r in runs if r["stack"] == "acme/platform/app"]
    assert app["state"] == "FINISHED" and counter.count("app") == 1
    assert_invariants(supervised, counter)


def test_redis_emptied_mid_pipeline_loses_no_run(
    supervised: Deployment, platform: GitPlatform, counter: ApplyCounter
) -> None:
    """The broker is a doorbell (DESIGN §6): the reaper rings again for what nobody claimed."""
    supervised.register(platform, SECRET)
    files = {**_autodeploy("net", _counted(counter, "net", then="sleep 4"))}
    files.update(_autodeploy("app", _counted(counter, "app")))
    files["app/stackrun.hcl"] = 'stack {\n  autodeploy = true\n  depends_on = ["../net"]\n}\n'
    before, after = platform.commit(files)
    assert supervised.webhook(platform.push_body(before, after), SECRET).status_code == 202
    supervised.wait(lambda: counter.count("net") == 1, "net to be applying")
    redis.Redis.from_url(supervised.env["STACKRUN_BROKER_URL"]).flushdb()
    runs = settled(supervised, 2)
    assert {r["state"] for r in runs} == {"FINISHED"}, [(r["stack"], r["state"]) for r in runs]
    assert counter.count("app") == 1
    assert_invariants(supervised, counter)


def test_an_unreachable_git_server_fails_the_push_with_the_reason_and_plans_nothing(
    services: Deployment, platform: GitPlatform, counter: ApplyCounter
) -> None:
    services.register(platform, SECRET)
    before, after = platform.commit(_autodeploy("net", _counted(counter, "net")))
    moved = platform.bare.with_name("moved.git")
    platform.bare.rename(moved)
    answer = services.webhook(platform.push_body(before, after), SECRET)
    assert answer.status_code == 202
    delivery = answer.json()["delivery_id"]

    def ended() -> dict[str, Any] | None:
        with services.client() as api:
            event = api.get(f"/api/v1/events/{delivery}").json()
        return event if event["status"] in ("failed", "processed") else None

    event = services.wait(ended, "the push to fail", timeout=180)
    assert event["status"] == "failed"
    assert "fetch" in event["detail"] or "repository" in event["detail"], event["detail"]
    assert services.runs() == []
    moved.rename(platform.bare)
    again = services.webhook(platform.push_body(before, after), SECRET)
    assert again.status_code == 202
    (run,) = settled(services, 1)
    assert run["state"] == "FINISHED" and counter.count("net") == 1
    assert_invariants(services, counter)


def _process_groups_in(directory: Path) -> set[int]:
    """The process groups of the processes working in `directory` (a run's terraform)."""
    groups = set()
    for proc in Path("/proc").iterdir():
        try:
            if os.readlink(proc / "cwd").startswith(str(directory)):
                groups.add(os.getpgid(int(proc.name)))
        except (OSError, ValueError):
            continue
    return groups


def test_a_worker_stalled_past_its_lease_is_fenced_and_its_state_is_recoverable(
    supervised: Deployment, platform: GitPlatform, counter: ApplyCounter
) -> None:
    """SIGSTOP of the worker and its terraform mid-apply, past the lease: the reaper fails the
    run. SIGCONT: the worker sees it, interrupts terraform, whose state write is refused (its
    credential died with the run); the state terraform could not save is kept, the stack stays
    locked and says so, and an admin pushes it as the stack's state."""
    supervised.register(platform, SECRET)
    stalled = _counted(counter, "db", then="sleep 20")
    before, after = platform.commit(_autodeploy("db", stalled))
    assert supervised.webhook(platform.push_body(before, after), SECRET).status_code == 202
    supervised.wait(lambda: counter.count("db") == 1, "the apply to start")
    (run,) = supervised.runs()
    log = Path(supervised.env["STACKRUN_DATA_DIR"]) / "reaping-worker.log"
    supervised.processes.append(
        spawn(
            [sys.executable, "-m", "orchestrator.cli", "worker", "--name", "reaping"],
            supervised.env,
            log,
        )
    )
    supervised.logs.append(log)
    workspaces = Path(supervised.env["STACKRUN_DATA_DIR"]) / "workspaces"
    groups = _process_groups_in(workspaces) | {supervised.processes[1].pid}
    for group in groups:
        os.killpg(group, signal.SIGSTOP)
    try:
        failed = supervised.wait(
            lambda: (r := supervised.run(run["id"]))["state"] == "FAILED" and r,
            "the reaper to fail the stalled apply",
            timeout=2 * LEASE_SECONDS + 20,
        )
    finally:
        for group in groups:
            os.killpg(group, signal.SIGCONT)
    assert failed["failure_reason"] == "worker_lost"
    stack_url = "/api/v1/stacks/acme/platform/db"

    def recovery() -> dict[str, Any] | None:
        with supervised.client() as api:
            found = api.get(stack_url).json()
        return found if found["state_recovery"]["needed"] else None

    stack = supervised.wait(recovery, "the unsaved state to be kept", timeout=90)
    assert stack["locked_by_run"] == run["id"]
    assert stack["state_recovery"]["artifact"] == f"runs/{run['id']}/errored.tfstate"
    assert supervised.run(run["id"])["failure_reason"] == "worker_lost", "the outcome is fenced"
    run_log = supervised.logs_of(run["id"])
    assert "became FAILED under this worker: sending SIGINT to terraform" in run_log
    with supervised.client() as api:
        refused = api.post(f"{stack_url}/unlock")
        assert refused.status_code == 409 and "recover it first" in refused.text
        recovered = api.post(f"{stack_url}/state/recover")
        assert recovered.status_code == 200, recovered.text
        state = api.get(f"{stack_url}/state").json()
        assert [r["type"] for r in state["resources"]] == ["null_resource"]
        after_recovery = api.get(stack_url).json()
        audit = api.get("/api/v1/audit").json()
    assert any(
        a["action"] == "stack.state_recover"
        and a["target"] == "stack:acme/platform/db"
        and a["detail"]["artifact"] == f"runs/{run['id']}/errored.tfstate"
        for a in audit
    ), audit
    assert after_recovery["locked_by_run"] is None
    assert not after_recovery["state_recovery"]["needed"]
    assert counter.count("db") == 1
    assert_invariants(supervised, counter)


def test_the_artifact_store_failing_during_a_plan_fails_the_run_and_applies_nothing(
    tmp_path: Path, tf_cli_config: Path, postgres_url: str, redis_url: str, counter: ApplyCounter
) -> None:
    """moto's S3 server is killed while the plan runs (every store call is refused from then
    on): the run fails with the store's reason once terraform has exited, and no plan that was
    not stored whole is ever applied."""
    with moto_server(tmp_path / "moto.log") as moto:
        moto.client("s3").create_bucket(
            Bucket="faults", CreateBucketConfiguration={"LocationConstraint": moto.region}
        )
        env = {k: v for k, v in moto.env().items() if k != "AWS_ENDPOINT_URL"}
        env.update(
            {"STACKRUN_ARTIFACTS_URL": "s3://faults/runs", "STACKRUN_S3_ENDPOINT_URL": moto.url}
        )
        deployment = start_services(
            tmp_path / "stackrun", tf_cli_config, postgres_url, redis_url, extra_env=env
        )
        try:
            platform = GitPlatform(tmp_path / "git")
            deployment.register(platform, SECRET)
            files = _autodeploy("net", SLOW_PLAN + _counted(counter, "net"))
            before, after = platform.commit(files)
            assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
            deployment.wait(
                lambda: [r for r in deployment.runs() if r["state"] == "PLANNING"], "the plan"
            )
            os.killpg(moto.pid, signal.SIGKILL)
            (run,) = settled(deployment, 1)
            assert run["state"] == "FAILED"
            assert moto.url in run["failure_reason"] or "s3" in run["failure_reason"].lower(), run
            assert counter.count("net") == 0
            with deployment.client() as api:
                stack = api.get("/api/v1/stacks/acme/platform/net").json()
            assert stack["locked_by_run"] is None
            assert_invariants(deployment, counter)
        finally:
            deployment.stop()


def test_every_delivery_accepted_while_the_api_restarts_is_processed_exactly_once(
    services: Deployment, platform: GitPlatform, tmp_path: Path, counter: ApplyCounter
) -> None:
    """200 signed deliveries from 8 clients; the API is SIGKILLed and started again half-way.
    A delivery answered 202 was stored before the answer: it is processed once. One that got
    no answer is redelivered by its sender (as GitHub does) and processed once too."""
    services.register(platform, SECRET)
    before, after = platform.commit({"README.md": "no stacks here\n"})
    body = platform.push_body(before, after)
    deliveries = [f"burst-{n:03d}" for n in range(200)]
    answers: dict[str, int] = {}

    def send(delivery: str) -> None:
        try:
            answers[delivery] = services.webhook(body, SECRET, delivery=delivery).status_code
        except httpx.HTTPError:
            answers[delivery] = 0

    def restart_api() -> None:
        api = services.processes[0]
        os.killpg(api.pid, signal.SIGKILL)
        api.wait(timeout=30)
        port = services.url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "orchestrator.cli", "api", "--port", port]
        services.processes[0] = spawn(command, services.env, tmp_path / "api-again.log")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, deliveries[:100]))
        restart_api()
        list(pool.map(send, deliveries[100:]))
    services.wait(lambda: _answers_health(services), "the API to answer again")
    for delivery in [d for d, status in answers.items() if status != 202]:
        assert services.webhook(body, SECRET, delivery=delivery).status_code in (200, 202)
    assert sum(1 for s in answers.values() if s == 202) >= 100

    def all_processed() -> bool:
        with services.client() as api:
            events = [api.get(f"/api/v1/events/{d}").json() for d in deliveries]
        return all(e.get("status") == "processed" for e in events)

    services.wait(all_processed, "every delivery to be processed", timeout=180)
    with services.client() as api:
        assert api.get("/api/v1/pipelines").json() == []
        events = [api.get(f"/api/v1/events/{d}").json() for d in deliveries]
    assert len({e["id"] for e in events}) == len(deliveries), "an event of its own per delivery"
    assert services.runs() == []
    assert_invariants(services, counter)


def _answers_health(deployment: Deployment) -> bool:
    try:
        return httpx.get(f"{deployment.url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_postgresql_restarted_mid_pipeline_loses_and_duplicates_nothing(
    tmp_path: Path, tf_cli_config: Path, counter: ApplyCounter
) -> None:
    """A PostgreSQL of the test's own is stopped while `net` applies and started again 4 s
    later: meanwhile the API answers 503; then the pipeline completes, each stack applied once."""
    why_not = private_postgres_available()
    if why_not is not None:
        if os.environ.get("CI"):
            pytest.fail(why_not)
        pytest.skip(why_not)
    settings = {"STACKRUN_LEASE_SECONDS": str(LEASE_SECONDS * 3), "STACKRUN_REAP_SECONDS": "2"}
    with private_postgres() as postgres:
        deployment = start_services(
            tmp_path / "stackrun",
            tf_cli_config,
            postgres.url,
            flushed_redis(),
            beat=True,
            extra_env=settings,
        )
        try:
            platform = GitPlatform(tmp_path / "git")
            deployment.register(platform, SECRET)
            files = _autodeploy("net", _counted(counter, "net", then="sleep 8"))
            files.update(_autodeploy("app", _counted(counter, "app")))
            files["app/stackrun.hcl"] = (
                'stack {\n  autodeploy = true\n  depends_on = ["../net"]\n}\n'
            )
            before, after = platform.commit(files)
            assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
            deployment.wait(lambda: counter.count("net") == 1, "net to be applying")
            postgres.stop()
            try:
                down = httpx.get(f"{deployment.url}/readyz", timeout=10)
                listed = httpx.get(
                    f"{deployment.url}/api/v1/runs",
                    headers={"Authorization": f"Bearer {deployment.token('admin')}"},
                    timeout=10,
                )
            finally:
                time.sleep(4)
                postgres.start()
            assert down.status_code == 503
            assert listed.status_code == 503, listed.text
            assert "retry-after" in listed.headers, listed.headers
            runs = settled(deployment, 2)
            assert {r["stack"]: r["state"] for r in runs} == {
                "acme/platform/net": "FINISHED",
                "acme/platform/app": "FINISHED",
            }, [(r["stack"], r["state"], r["failure_reason"]) for r in runs]
            assert counter.counts() == {"net": 1, "app": 1}
            assert_invariants(deployment, counter)
        finally:
            deployment.stop()


def test_two_beats_at_once_start_one_drift_run_per_slot_and_reap_once(
    tmp_path: Path, tf_cli_config: Path, postgres_url: str, redis_url: str, counter: ApplyCounter
) -> None:
    """Two beat processes tick drift every 2 s and reap every 2 s: each minute's slot starts
    one drift run, and a lost apply is failed once."""
    settings = {
        "STACKRUN_LEASE_SECONDS": str(LEASE_SECONDS),
        "STACKRUN_REAP_SECONDS": "2",
        "STACKRUN_DRIFT_TICK_SECONDS": "2",
        "STACKRUN_DRIFT_SPREAD_SECONDS": "1",
    }
    deployment = start_services(
        tmp_path / "stackrun",
        tf_cli_config,
        postgres_url,
        redis_url,
        beat=True,
        extra_env=settings,
    )
    try:
        second = {**deployment.env, "STACKRUN_DATA_DIR": str(tmp_path / "second-beat")}
        log = tmp_path / "second-beat.log"
        deployment.processes.append(
            spawn([sys.executable, "-m", "orchestrator.cli", "beat"], second, log)
        )
        deployment.logs.append(log)
        platform = GitPlatform(tmp_path / "git")
        deployment.register(platform, SECRET)
        drifting = {
            "web/stackrun.hcl": (
                "stack {\n  autodeploy = true\n"
                '  drift_detection {\n    schedule = "* * * * *"\n  }\n}\n'
            ),
            "web/main.tf": 'resource "null_resource" "web" {}\n',
            **_autodeploy("db", _counted(counter, "db", then="sleep 30")),
        }
        before, after = platform.commit(drifting)
        assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
        deployment.wait(lambda: counter.count("db") == 1, "db to be applying")
        (web,) = [r for r in deployment.runs(stack="acme/platform/web") if r["kind"] == "TRACKED"]
        deployment.wait_run_state(web["id"], {"FINISHED"})  # only an applied stack drifts
        _replace_worker(deployment, tmp_path, "worker-after-two-beats")
        (db,) = deployment.runs(stack="acme/platform/db")
        failed = deployment.wait_run_state(db["id"], {"FAILED"}, timeout=4 * LEASE_SECONDS + 30)
        assert failed["failure_reason"] == "worker_lost"
        history = deployment.run(db["id"])["history"]
        assert sum(1 for h in history if h["to"] == "FAILED") == 1, history

        def drift_runs() -> list[dict[str, Any]] | None:
            """The runs the schedule started (a drift plan the killed worker held is planned
            once more: that second attempt is not a slot of its own)."""
            runs = [
                r
                for r in deployment.runs(stack="acme/platform/web")
                if r["kind"] == "DRIFT" and r["trigger_reason"].startswith("drift check")
            ]
            return runs or None

        first = deployment.wait(drift_runs, "a scheduled drift run", timeout=130)
        slots_started = {r["trigger_reason"] for r in first}
        time.sleep(6)
        again = drift_runs() or []
        per_slot = [r["trigger_reason"] for r in again]
        assert len(per_slot) == len(set(per_slot)), again
        assert slots_started <= set(per_slot)
        assert counter.count("db") == 1
        settled(deployment, len(again) + 2)
        assert_invariants(deployment, counter)
    finally:
        deployment.stop()
