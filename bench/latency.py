"""Webhook→202 and push→first-terraform latency of `stackrun up`, embedded vs Redis+PostgreSQL.

Run: .venv/bin/python bench/latency.py [--deliveries N] [--pushes K] [--json]
       [--only embedded|redis] [--redis-db 11] [--keep]

For each deployment the script starts `stackrun up --port P` as a subprocess (its own process
group, output to a log file in a temporary directory), registers the demo repository of
orchestrator.demo through a helper subprocess with the same environment, and measures:

  healthz     GET /healthz, N sequential requests on one keep-alive connection (baseline)
  webhook     N signed GitHub `push` deliveries (distinct X-GitHub-Delivery ids) to the tracked
              branch with before == after == head: accepted (202) and stored, the doorbell rung,
              but no stack changes, so no terraform runs
  drain       time until the worker has processed all N stored events (status != received)
  first-tf    K real pushes, each touching network/NOTES.md: time from sending the webhook to
              the INITIALIZING transition in the run's history (the moment before
              `terraform init`), plus the run's creation and the end of its plan (leaving
              PLANNING); a run left waiting for approval is discarded before the next push

Only 127.0.0.1 is used. The Redis deployment flushes its Redis db before and after, and CREATEs
and DROPs its own PostgreSQL database. Every process is stopped at the end (SIGTERM to the
process group, SIGKILL after a timeout). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import baselines
import httpx
from common import HOST, free_port, parse_at, percentile, tail

from orchestrator.webhooks.delivery import PushedRef, github_push_body
from orchestrator.webhooks.github import sign

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
NETWORK_STACK = "demo/platform/network"
START_TIMEOUT = 90.0
DRAIN_TIMEOUT = 300.0
RUN_TIMEOUT = 180.0
POLL = 0.05

# Helper run in a subprocess with the deployment's environment: build (or advance) the demo
# repository, register it once, print what the bench needs as JSON.
HELPER = """
import json, sys
from pathlib import Path
from orchestrator import demo
bare, before, after = demo.build_repository(Path(sys.argv[1]))
name, secret = demo.ensure_registered(bare)
print(json.dumps({"bare": str(bare), "before": before, "after": after,
                  "name": name, "secret": secret}))
"""


# ---------------------------------------------------------------- statistics


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
    }


# ---------------------------------------------------------------- deployment


@dataclass
class Deployment:
    name: str
    description: str
    env: dict[str, str]
    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def base_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKRUN_")}
    env["STACKRUN_DATA_DIR"] = str(workdir / "data")
    env["STACKRUN_ALLOW_LOCAL_REPOSITORIES"] = "true"  # the demo repository is file://
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def stackrun_bin() -> str:
    candidate = Path(sys.executable).parent / "stackrun"
    return str(candidate) if candidate.exists() else "stackrun"


def start(deployment: Deployment) -> None:
    deployment.port = free_port()
    deployment.log_path = deployment.workdir / "stackrun-up.log"
    log = deployment.log_path.open("wb")
    deployment.process = subprocess.Popen(
        [stackrun_bin(), "up", "--port", str(deployment.port)],
        env=deployment.env,
        cwd=deployment.workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if deployment.process.poll() is not None:
            raise RuntimeError(f"stackrun up exited early:\n{tail(deployment.log_path)}")
        try:
            if httpx.get(f"{deployment.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"stackrun up not healthy in {START_TIMEOUT:.0f}s:\n{tail(deployment.log_path)}"
    )


def stop(deployment: Deployment) -> None:
    process = deployment.process
    if process is None or process.poll() is not None:
        return
    pgid = process.pid  # start_new_session: the process leads its own group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=10)
    # Children (api, celery) that outlived the parent: give them a moment, then kill.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def last_line_of(deployment: Deployment, command: list[str], what: str) -> str:
    """Run a command with the deployment's environment; its last output line."""
    done = subprocess.run(
        command,
        env=deployment.env,
        cwd=deployment.workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def helper(deployment: Deployment) -> dict[str, str]:
    command = [sys.executable, "-c", HELPER, str(deployment.workdir / "repo")]
    return dict(json.loads(last_line_of(deployment, command, "demo helper")))


def admin_token(deployment: Deployment) -> str:
    name = f"bench-{uuid.uuid4().hex[:6]}"
    command = [stackrun_bin(), "tokens", "create", "--name", name, "--role", "admin"]
    return last_line_of(deployment, command, "tokens create")


@contextlib.contextmanager
def embedded(workdir: Path) -> Iterator[Deployment]:
    yield Deployment(
        "embedded", "SQLite + filesystem broker (defaults)", base_env(workdir), workdir
    )


@contextlib.contextmanager
def redis_postgres(workdir: Path, redis_db: int, redis_port: int = 6379) -> Iterator[Deployment]:
    import psycopg
    import redis

    database = f"stackrun_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    client = redis.Redis(host=HOST, port=redis_port, db=redis_db)
    client.flushdb()
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    env = base_env(workdir)
    env["STACKRUN_BROKER_URL"] = f"redis://{HOST}:{redis_port}/{redis_db}"
    env["STACKRUN_DATABASE_URL"] = f"postgresql+psycopg://postgres@{HOST}:5432/{database}"
    try:
        yield Deployment("redis", f"Redis db {redis_db} + PostgreSQL {database}", env, workdir)
    finally:
        client.flushdb()
        client.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# ---------------------------------------------------------------- measurements


def delivery(repo: dict[str, str], before: str, after: str) -> tuple[str, bytes, dict[str, str]]:
    pushed = PushedRef(before, after, "refs/heads/main")
    body = github_push_body(repo["name"], f"file://{repo['bare']}", pushed, "bench")
    delivery_id = str(uuid.uuid4())
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(repo["secret"], body),
        "Content-Type": "application/json",
    }
    return delivery_id, body, headers


def measure_healthz(http: httpx.Client, n: int) -> list[float]:
    for _ in range(10):  # warm-up
        http.get("/healthz")
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = http.get("/healthz")
        samples.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise RuntimeError(f"/healthz answered {response.status_code}")
    return samples


def measure_webhooks(
    http: httpx.Client, repo: dict[str, str], n: int
) -> tuple[list[float], list[str]]:
    head = repo["after"]
    samples: list[float] = []
    ids: list[str] = []
    for _ in range(n):
        delivery_id, body, headers = delivery(repo, head, head)
        t0 = time.perf_counter()
        response = http.post("/webhooks/github", content=body, headers=headers)
        samples.append(time.perf_counter() - t0)
        if response.status_code != 202:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
        ids.append(delivery_id)
    return samples, ids


def drain(
    http: httpx.Client, auth: dict[str, str], ids: list[str], started: float
) -> tuple[float, list[float]]:
    """Seconds from the first webhook until every stored event left `received`, and each
    event's queue lag (received_at → processed_at, server clock)."""
    pending = list(ids)
    lags: list[float] = []
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} events still unprocessed after {DRAIN_TIMEOUT}s")
        response = http.get(f"/api/v1/events/{pending[-1]}", headers=auth)
        response.raise_for_status()
        event = response.json()
        if event["status"] in ("received", "processing"):
            time.sleep(0.1)
            continue
        if event["status"] != "processed":
            raise RuntimeError(f"event {pending[-1]} ended {event['status']}: {event}")
        lags.append(parse_at(event["processed_at"]) - parse_at(event["received_at"]))
        pending.pop()
    return time.monotonic() - started, lags


def measure_first_terraform(
    deployment: Deployment, http: httpx.Client, auth: dict[str, str], pushes: int
) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = []
    for _ in range(pushes):
        repo = helper(deployment)  # a new commit touching network/NOTES.md
        _, body, headers = delivery(repo, repo["before"], repo["after"])
        sent = time.time()
        response = http.post("/webhooks/github", content=body, headers=headers)
        if response.status_code != 202:
            raise RuntimeError(f"push webhook answered {response.status_code}: {response.text}")
        run = wait_run(http, auth, repo["after"])
        history = wait_history(http, auth, run["id"])
        at = {entry["to"]: parse_at(entry["at"]) for entry in history}
        planned = [parse_at(e["at"]) for e in history if e["from"] == "PLANNING"]
        sample = {
            "run": run["id"],
            "commit": repo["after"][:12],
            "run_created_s": round(parse_at(run["created_at"]) - sent, 4),
            "first_terraform_s": round(at["INITIALIZING"] - sent, 4),
            "plan_done_s": round(planned[0] - sent, 4) if planned else None,
            "final_state": history[-1]["to"],
        }
        samples.append(sample)
        if history[-1]["to"] == "UNCONFIRMED":
            http.post(
                f"/api/v1/runs/{run['id']}/discard",
                json={"comment": "bench"},
                headers=auth,
            ).raise_for_status()
    return samples


def wait_run(http: httpx.Client, auth: dict[str, str], sha: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        response = http.get(
            "/api/v1/runs", params={"stack": NETWORK_STACK, "limit": 5}, headers=auth
        )
        response.raise_for_status()
        for run in response.json():
            if run["commit"]["sha"] == sha:
                return dict(run)
        time.sleep(POLL)
    raise RuntimeError(f"no run of {NETWORK_STACK} at {sha[:12]} within {RUN_TIMEOUT}s")


def wait_history(http: httpx.Client, auth: dict[str, str], run_id: int) -> list[dict[str, Any]]:
    """The run's history once planning is over (UNCONFIRMED or terminal)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    settled = {"UNCONFIRMED", "FINISHED", "FAILED", "DISCARDED", "CANCELED", "SKIPPED", "STOPPED"}
    while time.monotonic() < deadline:
        response = http.get(f"/api/v1/runs/{run_id}", headers=auth)
        response.raise_for_status()
        run = response.json()
        if run["state"] in settled:
            history = list(run["history"])
            if not any(entry["to"] == "INITIALIZING" for entry in history):
                raise RuntimeError(f"run {run_id} ended {run['state']} before INITIALIZING: {run}")
            return history
        time.sleep(POLL)
    raise RuntimeError(f"run {run_id} did not finish planning within {RUN_TIMEOUT}s")


def bench(deployment: Deployment, deliveries: int, pushes: int) -> dict[str, Any]:
    start(deployment)
    try:
        repo = helper(deployment)  # initial commit, repository registered
        auth = {"Authorization": f"Bearer {admin_token(deployment)}"}
        with httpx.Client(base_url=deployment.url, timeout=30) as http:
            healthz = measure_healthz(http, deliveries)
            started = time.monotonic()
            webhook, ids = measure_webhooks(http, repo, deliveries)
            drained, lags = drain(http, auth, ids, started)
            floors = measure_floors(deployment, pushes)
            first_tf = measure_first_terraform(deployment, http, auth, pushes)
    except Exception:
        sys.stderr.write(f"--- tail of {deployment.log_path}\n{tail(deployment.log_path)}\n")
        raise
    finally:
        stop(deployment)
    tf_p50 = percentile([s["first_terraform_s"] for s in first_tf], 50)
    floors["first_terraform_over_floor"] = round(tf_p50 / floors["floor_s"], 2)
    hz = summary_ms(healthz)
    wh = summary_ms(webhook)
    tf = [s["first_terraform_s"] for s in first_tf]
    created = [s["run_created_s"] for s in first_tf]
    planned = [s["plan_done_s"] for s in first_tf if s["plan_done_s"] is not None]
    return {
        "deployment": deployment.name,
        "description": deployment.description,
        "healthz": hz,
        "webhook_202": wh,
        "webhook_over_healthz_p50": round(wh["p50_ms"] / hz["p50_ms"], 2),
        "events_drained_s": round(drained, 2),
        "events_per_s": round(deliveries / drained, 1),
        "event_lag": {
            "p50_ms": round(percentile(lags, 50) * 1000, 1),
            "max_ms": round(max(lags) * 1000, 1),
        },
        "push_to_first_terraform": {
            "n": len(tf),
            "p50_s": round(percentile(tf, 50), 3),
            "max_s": round(max(tf), 3),
            "run_created_p50_s": round(percentile(created, 50), 3),
            "plan_done_p50_s": round(percentile(planned, 50), 3) if planned else None,
            "samples": first_tf,
        },
        "floors": floors,
    }


def measure_floors(deployment: Deployment, pushes: int) -> dict[str, Any]:
    """The same run's baselines of push → first terraform: a git fetch of one commit and, on
    Redis, a Celery round trip (bench/baselines.py)."""
    workdir = deployment.workdir / "floors"
    workdir.mkdir()
    fetch = baselines.git_fetch_p50(workdir, max(pushes, 11))
    broker = deployment.env.get("STACKRUN_BROKER_URL")
    celery = None
    if broker:
        echo_broker = broker.rsplit("/", 1)[0] + "/14"
        celery = baselines.celery_round_trip_p50(echo_broker, max(pushes, 11), workdir)
    floor = fetch + (celery or 0.0)
    return {
        "git_fetch_p50_s": round(fetch, 4),
        "celery_round_trip_p50_s": None if celery is None else round(celery, 4),
        "floor_s": round(floor, 4),
    }


# ---------------------------------------------------------------- output


def table_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    hz, wh, tf = r["healthz"], r["webhook_202"], r["push_to_first_terraform"]
    plan_done = tf["plan_done_p50_s"]
    return [
        ("healthz p50 / p99 (ms)", f"{hz['p50_ms']:.2f} / {hz['p99_ms']:.2f}"),
        ("webhook→202 p50 / p99 (ms)", f"{wh['p50_ms']:.2f} / {wh['p99_ms']:.2f}"),
        ("webhook p50 ÷ healthz p50", f"{r['webhook_over_healthz_p50']:.1f}x"),
        (
            f"{wh['n']} events processed in (s)",
            f"{r['events_drained_s']:.2f} ({r['events_per_s']}/s)",
        ),
        (
            "event received→processed p50 / max (ms)",
            f"{r['event_lag']['p50_ms']:.0f} / {r['event_lag']['max_ms']:.0f}",
        ),
        (f"push→run created p50 (s), n={tf['n']}", f"{tf['run_created_p50_s']:.3f}"),
        ("push→first terraform p50 / max (s)", f"{tf['p50_s']:.3f} / {tf['max_s']:.3f}"),
        ("push→plan done p50 (s)", "n/a" if plan_done is None else f"{plan_done:.3f}"),
        ("git fetch of one commit p50 (s)", f"{r['floors']['git_fetch_p50_s']:.4f}"),
        ("Celery round trip p50 (s)", _maybe(r["floors"]["celery_round_trip_p50_s"])),
        ("first terraform p50 ÷ (fetch + Celery)", f"{r['floors']['first_terraform_over_floor']}x"),
    ]


def _maybe(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def table(results: list[dict[str, Any]]) -> str:
    columns = [dict(table_rows(r)) for r in results]
    labels = [label for label, _ in table_rows(results[0])]
    width = max(len(label) for label in labels)
    colw = 24
    lines = [" " * width + "  " + "  ".join(r["deployment"].ljust(colw) for r in results)]
    for label in labels:
        cells = "  ".join(column[label].ljust(colw) for column in columns)
        lines.append(f"{label.ljust(width)}  {cells}")
    lines += [f"{r['deployment']}: {r['description']}" for r in results]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=200, help="webhooks and healthz GETs")
    parser.add_argument("--pushes", type=int, default=5, help="real pushes for push→terraform")
    parser.add_argument("--only", choices=["embedded", "redis"], help="one deployment only")
    parser.add_argument("--redis-db", type=int, default=11, help="Redis db, flushed")
    parser.add_argument("--redis-port", type=int, default=6379, help="Redis on 127.0.0.1")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = parser.parse_args()
    if args.deliveries < 1 or args.pushes < 1:
        parser.error("--deliveries and --pushes must be at least 1")

    results: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for name in ("embedded", "redis"):
        if args.only and args.only != name:
            continue
        workdir = Path(tempfile.mkdtemp(prefix=f"stackrun-bench-{name}-"))
        failed = False
        try:
            factory = (
                embedded(workdir)
                if name == "embedded"
                else redis_postgres(workdir, args.redis_db, args.redis_port)
            )
            with factory as deployment:
                print(f"[{name}] {deployment.description}: measuring…", file=sys.stderr)
                results.append(bench(deployment, args.deliveries, args.pushes))
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one broken deployment must not hide the other's figures
            failed = True
            traceback.print_exc()
            failures.append({"deployment": name, "error": f"{type(exc).__name__}: {exc}"})
        finally:
            if args.keep or failed:
                print(f"[{name}] kept {workdir} (stackrun-up.log)", file=sys.stderr)
            else:
                shutil.rmtree(workdir, ignore_errors=True)

    meta = {
        "deliveries": args.deliveries,
        "pushes": args.pushes,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if args.json:
        print(json.dumps({"meta": meta, "results": results, "failures": failures}, indent=2))
    else:
        if results:
            print(table(results))
        for failure in failures:
            print(f"{failure['deployment']}: FAILED: {failure['error'][:300]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
