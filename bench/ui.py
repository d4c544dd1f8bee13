"""Server time of the web UI's pages at 1,000 stacks and 10,000 runs in PostgreSQL.

Run: .venv/bin/python bench/ui.py [--stacks 1000] [--runs 10000] [--requests 40] [--json]

A fresh PostgreSQL database on 127.0.0.1:5432 (CREATEd, migrated, DROPped at the end) is
filled in bulk: one repository with --stacks stacks (labels, a graph snapshot chaining them),
--runs runs in pipelines of ten (three transitions each, a plan summary and resource changes),
as many audit rows, an admin token. Then `orchestrator.cli api --port P` is started as a
subprocess (its own process group) and, after signing in through the form, each page is asked
--requests times in sequence on one keep-alive connection after 5 warm-up requests. The time
is the round trip on loopback: `GET /healthz`, measured in the same run the same way, is the
floor of the HTTP stack. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from common import HOST, free_port, percentile, tail
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from orchestrator.auth import create_token
from orchestrator.migrate import upgrade
from orchestrator.models import (
    AuditEntry,
    GraphSnapshot,
    Pipeline,
    Repository,
    Run,
    RunTransition,
    Stack,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
STATES = ["FINISHED", "FINISHED", "FINISHED", "FAILED", "UNCONFIRMED", "DISCARDED"]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@contextlib.contextmanager
def database() -> Iterator[str]:
    name = f"stackrun_bench_ui_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stacks(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"acme/big/s{i:04d}",
            "repository_id": 1,
            "path": f"s{i:04d}",
            "name": f"s{i:04d}",
            "labels": [f"team{i % 10}", "prod" if i % 3 else "dev"],
            "depends_on": [],
        }
        for i in range(count)
    ]


def _runs(stacks: int, runs: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for n in range(runs):
        at = T0 + timedelta(minutes=n)
        rows.append(
            {
                "id": n + 1,
                "stack_id": f"acme/big/s{(n * 7) % stacks:04d}",
                "pipeline_id": n // 10 + 1,
                "kind": "TRACKED",
                "state": STATES[n % len(STATES)],
                "commit_sha": f"{n:040x}",
                "commit_message": f"change {n}",
                "commit_author": "dev",
                "branch": "main",
                "triggered_by": "push:dev",
                "upstream_run_ids": [n] if n % 10 else [],
                "plan_summary": {"add": 1, "change": n % 3, "destroy": 0},
                "resource_changes": [
                    {
                        "address": f"null_resource.r{k}",
                        "type": "null_resource",
                        "actions": ["create"],
                    }
                    for k in range(3)
                ],
                "created_at": at,
                "updated_at": at,
            }
        )
        for step, state in enumerate(("QUEUED", "PLANNING", STATES[n % len(STATES)])):
            history.append(
                {
                    "run_id": n + 1,
                    "to_state": state,
                    "actor": "worker",
                    "reason": "",
                    "at": at + timedelta(seconds=step),
                }
            )
    return rows, history


def seed(url: str, stacks: int, runs: int) -> str:
    """Everything in bulk; returns the admin token."""
    engine = create_engine(url)
    with Session(engine) as session:
        session.add(
            Repository(
                id=1,
                name="acme/big",
                clone_url="file:///x",
                branch="main",
                provider="github",
                webhook_secret_enc=b"x",
            )
        )
        session.flush()
        session.execute(insert(Stack), _stacks(stacks))
        pipelines = [
            {
                "id": p + 1,
                "repository_id": 1,
                "commit_sha": f"{p:040x}",
                "branch": "main",
                "created_at": T0,
            }
            for p in range(runs // 10 + 1)
        ]
        session.execute(insert(Pipeline), pipelines)
        run_rows, history = _runs(stacks, runs)
        for start in range(0, len(run_rows), 2000):
            session.execute(insert(Run), run_rows[start : start + 2000])
        for start in range(0, len(history), 5000):
            session.execute(insert(RunTransition), history[start : start + 5000])
        session.execute(
            insert(AuditEntry),
            [
                {
                    "actor": "admin",
                    "action": "run.approve",
                    "target": f"run:{n + 1}",
                    "detail": {},
                    "source_ip": "127.0.0.1",
                    "at": T0,
                }
                for n in range(runs)
            ],
        )
        edges = [
            {
                "from": f"s{i - 1:04d}",
                "to": f"s{i:04d}",
                "kind": "data",
                "evidence": {"file": f"s{i:04d}/main.tf", "block": "data.x"},
            }
            for i in range(1, stacks)
            if i % 10
        ]
        graph = {
            "stacks": [
                {"path": s["path"], "name": s["name"], "labels": s["labels"]}
                for s in _stacks(stacks)
            ],
            "edges": edges,
            "unresolved": [],
        }
        session.add(GraphSnapshot(repository_id=1, commit_sha="a" * 40, graph=graph))
        token = create_token(session, "bench-admin", "admin")
        session.commit()
    engine.dispose()
    return token


@contextlib.contextmanager
def api(url: str, folder: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKRUN_")}
    env.update(
        {
            "STACKRUN_DATABASE_URL": url,
            "STACKRUN_DATA_DIR": str(folder),
            "STACKRUN_BROKER_URL": "redis://127.0.0.1:6379/15",
            "STACKRUN_LOG_LEVEL": "warning",
        }
    )
    log = folder / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.cli", "api", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://{HOST}:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                raise SystemExit(f"the API exited early:\n{tail(log)}")
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def signed_in(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    form = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    done = client.post("/signin", data={"csrf": csrf.group(1), "token": token, "next": "/runs"})
    assert done.status_code == 303, done.text[:300]
    return client


def measure(client: httpx.Client, path: str, requests: int) -> dict[str, float]:
    for _ in range(5):
        client.get(path)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return {"p50_ms": percentile(samples, 50), "p95_ms": percentile(samples, 95)}


def pages(stacks: int, runs: int) -> list[str]:
    return [
        "/healthz",
        "/stacks",
        "/stacks?label=team3&state=FAILED",
        "/stacks?page=10",
        f"/stacks/acme/big/s{stacks // 2:04d}",
        "/runs",
        "/runs?state=UNCONFIRMED",
        f"/runs?before={runs // 2}",
        f"/runs/{runs // 2}",
        "/pipelines",
        f"/pipelines/{runs // 20}",
        "/repositories",
        "/repositories/1",
        "/policies",
        "/audit",
        "/audit?action=run.&before=5000",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with database() as url, tempfile.TemporaryDirectory() as folder:
        os.environ["STACKRUN_DATA_DIR"] = folder
        upgrade(url)
        started = time.perf_counter()
        token = seed(url, args.stacks, args.runs)
        seeded = time.perf_counter() - started
        with api(url, Path(folder)) as base:
            client = signed_in(base, token)
            for path in pages(args.stacks, args.runs):
                results[path] = measure(client, path, args.requests)
    if args.json:
        print(json.dumps({"stacks": args.stacks, "runs": args.runs, "pages": results}, indent=2))
        return
    floor = results["/healthz"]["p50_ms"]
    print(
        f"{args.stacks} stacks, {args.runs} runs in PostgreSQL (seeded in {seeded:.1f} s); "
        f"{args.requests} requests per page, round trip on loopback"
    )
    print(f"{'page':44} {'p50 ms':>8} {'p95 ms':>8} {'p50 - healthz':>14}")
    for path, figures in results.items():
        print(
            f"{path:44} {figures['p50_ms']:8.1f} {figures['p95_ms']:8.1f} "
            f"{figures['p50_ms'] - floor:14.1f}"
        )


if __name__ == "__main__":
    main()
