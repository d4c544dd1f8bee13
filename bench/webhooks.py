"""Webhook intake throughput of `stackrun api` against a bare FastAPI app, both deployments,
and the no-op pushes a worker processes per second (issue 21).

Run: .venv/bin/python bench/webhooks.py [--rounds 5] [--deliveries 1600] [--clients 16]
       [--burst 1000] [--only embedded|redis] [--redis-url redis://127.0.0.1:6379/13] [--json]
       [--keep] [--profile-api]

In one run, with every server started once and then left idle while another is measured:

  bare      a FastAPI app on the same uvicorn that reads the body and checks the HMAC (baseline)
  embedded  `stackrun api` alone on SQLite (data dir in a temporary directory), filesystem broker
  redis     `stackrun api` alone on a PostgreSQL database the script CREATEs and DROPs, Redis db

Rounds interleave the three (the order rotates each round): each sends `--deliveries` signed
GitHub `push` deliveries of about 4 KB (distinct X-GitHub-Delivery ids, to the tracked branch,
before == after == head: a no-op push) over `--clients` keep-alive connections. Per round:
deliveries/s, p50, p99 and the ratio to the bare app of that round; the medians over rounds are
the figures. No worker runs during the rounds.

Then, per deployment: a worker starts (`stackrun worker`, default concurrency) and drains what the
rounds stored; 16 deliveries are sent twice at once (32 connections: dedupe under concurrency);
a burst of `--burst` no-op pushes is sent while the worker runs, and processed/s = burst ÷
(last processed_at - first received_at), server clock. Last the count: every 202 is one event
row, and every event is `processed` after exactly one attempt.

Only 127.0.0.1 is contacted; each process group gets SIGTERM (SIGKILL after 30 s), the Redis db is
flushed and the database dropped at the end. Figures are printed, never asserted.
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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import latency
from common import HOST, free_port, parse_at, percentile, tail
from loadgen import Load, burst, request_bytes
from sqlalchemy import create_engine, text

from orchestrator.webhooks.delivery import PushedRef, github_push_body
from orchestrator.webhooks.github import sign

START_TIMEOUT = 90.0
DRAIN_TIMEOUT = 600.0
BARE_SECRET = "bench-bare-secret"


@dataclass
class Server:
    """One thing under load: the bare app or a `stackrun api` of a deployment."""

    name: str
    env: dict[str, str]
    workdir: Path
    secret: str = BARE_SECRET
    repo: dict[str, str] = field(default_factory=dict)
    database_url: str = ""
    port: int = 0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0


def spawn(server: Server, command: list[str], log_name: str) -> subprocess.Popen[bytes]:
    log = (server.workdir / log_name).open("ab")
    process = subprocess.Popen(
        command,
        env=server.env,
        cwd=server.workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    server.processes.append(process)
    return process


def wait_listening(server: Server, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{tail(server.workdir / 'api.log')}")
        try:
            httpx.get(f"http://{HOST}:{server.port}{path}", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} not listening in {START_TIMEOUT:.0f}s")


def start_bare(workdir: Path) -> Server:
    env = dict(os.environ, BENCH_WEBHOOK_SECRET=BARE_SECRET)
    server = Server("bare", env, workdir)
    server.port = free_port()
    bench_dir = str(Path(__file__).resolve().parent)
    command = [sys.executable, "-m", "uvicorn", "bare_webhook_app:app", "--app-dir", bench_dir]
    command += ["--host", HOST, "--port", str(server.port), "--log-level", "warning"]
    wait_listening(server, spawn(server, command, "api.log"), "/docs")
    return server


def start_stackrun(server: Server, profile: bool) -> None:
    """Migrate, register the demo repository, start `stackrun api` alone."""
    deployment = latency.Deployment(server.name, "", server.env, server.workdir)
    migrate = [sys.executable, "-m", "orchestrator.cli", "migrate"]
    latency.last_line_of(deployment, migrate, "migrate")
    server.repo = latency.helper(deployment)
    server.secret = server.repo["secret"]
    server.port = free_port()
    command = [sys.executable, "-m", "orchestrator.cli", "api", "--port", str(server.port)]
    if profile:
        out = str(server.workdir / "api-profile.txt")
        command = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "-f",
            "raw",
            "-o",
            out,
            "-r",
            "100",
            "--",
            *command,
        ]
    wait_listening(server, spawn(server, command, "api.log"), "/healthz")


def start_worker(server: Server, profile: bool) -> None:
    command = [sys.executable, "-m", "orchestrator.cli", "worker"]
    if profile:
        out = str(server.workdir / "worker-profile.txt")
        command = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "-s",
            "-f",
            "raw",
            "-o",
            out,
            "-r",
            "100",
            "--",
            *command,
        ]
    spawn(server, command, "worker.log")


def stop_all(server: Server) -> None:
    for process in server.processes:
        if "py-spy" in str(process.args):  # py-spy writes its profile on SIGINT
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        latency.stop(latency.Deployment(server.name, "", {}, server.workdir, process=process))
    server.processes.clear()


@contextlib.contextmanager
def deployment(name: str, redis_url: str, keep: bool) -> Iterator[Server]:
    import psycopg
    import redis

    workdir = Path(tempfile.mkdtemp(prefix=f"stackrun-webhooks-{name}-"))
    env = latency.base_env(workdir)
    server = Server(name, env, workdir)
    database = f"stackrun_webhooks_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server.database_url = f"sqlite:///{workdir / 'data' / 'stackrun.db'}"
    if name == "redis":
        redis.Redis.from_url(redis_url).flushdb()
        with psycopg.connect(latency.PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        server.database_url = f"postgresql+psycopg://postgres@{HOST}:5432/{database}"
        env["STACKRUN_BROKER_URL"] = redis_url
        env["STACKRUN_DATABASE_URL"] = server.database_url
    try:
        yield server
    finally:
        stop_all(server)
        if name == "redis":
            redis.Redis.from_url(redis_url).flushdb()
            with psycopg.connect(latency.PG_ADMIN, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"[{name}] kept {workdir}", file=sys.stderr)


# ---------------------------------------------------------------- deliveries


def push_body(server: Server) -> bytes:
    """A no-op push to the tracked branch (before == after == head), about 4 KB like a real
    GitHub push with a few commits."""
    repo = server.repo or {"name": "acme/bare", "bare": "/nonexistent", "after": "0" * 40}
    head = repo["after"]
    pushed = PushedRef(head, head, "refs/heads/main")
    payload = json.loads(github_push_body(repo["name"], f"file://{repo['bare']}", pushed, "b"))
    payload["commits"] = []
    while len(json.dumps(payload)) < 4000:
        n = len(payload["commits"])
        payload["commits"].append(
            {
                "id": head,
                "message": f"bench commit {n}: " + "a change to the platform " * 4,
                "author": {"name": "bench", "email": "bench@stackrun.invalid"},
                "added": [],
                "removed": [],
                "modified": [f"demo/platform/network/NOTES-{n}.md"],
            }
        )
    return json.dumps(payload).encode()


def deliveries(server: Server, tag: str, n: int, body: bytes) -> tuple[list[str], list[bytes]]:
    ids = [f"{tag}-{uuid.uuid4()}" for _ in range(n)]
    signature = sign(server.secret, body)
    host = f"{HOST}:{server.port}"
    requests = [
        request_bytes(
            "/webhooks/github",
            host,
            {
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": delivery_id,
                "X-Hub-Signature-256": signature,
                "Content-Type": "application/json",
            },
            body,
        )
        for delivery_id in ids
    ]
    return ids, requests


def cpu_seconds(server: Server) -> float:
    """CPU time used so far by the server's process (the API, not py-spy around it)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process in server.processes[:1]:
        pids = [process.pid, *_children(process.pid)]
        for pid in pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def measure_round(server: Server, n: int, clients: int, index: int) -> dict[str, Any]:
    tag = f"round{index}" if index >= 0 else "warmup"
    _, requests = deliveries(server, tag, n, push_body(server))
    cpu = cpu_seconds(server)
    load = burst(HOST, server.port, requests, clients)
    cpu = cpu_seconds(server) - cpu
    accepted = sum(1 for s in load.statuses if s == 202)
    server.accepted += accepted
    if accepted != n:
        odd = sorted({(s, b[:200]) for s, b in zip(load.statuses, load.bodies, strict=True)})
        raise RuntimeError(f"{server.name}: {n - accepted} of {n} not accepted: {odd[:3]}")
    return {**summarize(load), "server_cpu_ms_each": round(1000 * cpu / n, 3)}


def summarize(load: Load) -> dict[str, Any]:
    ms = [s * 1000 for s in load.latencies_s]
    return {
        "per_s": round(load.per_second, 1),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
    }


# ---------------------------------------------------------------- processing


def event_counts(server: Server, pattern: str) -> dict[tuple[str, int], int]:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT status, attempts, COUNT(*) FROM events "
                    "WHERE delivery_id LIKE :p GROUP BY status, attempts"
                ),
                {"p": pattern},
            ).all()
    finally:
        engine.dispose()
    return {(str(r[0]), int(r[1])): int(r[2]) for r in rows}


def wait_processed(server: Server, pattern: str, expected: int) -> dict[tuple[str, int], int]:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        counts = event_counts(server, pattern)
        waiting = sum(
            n for (status, _), n in counts.items() if status in ("received", "processing")
        )
        if sum(counts.values()) >= expected and not waiting:
            return counts
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name}: events not processed in {DRAIN_TIMEOUT}s: {counts}")
        time.sleep(0.05)


def processing_span(server: Server, pattern: str) -> float:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection:
            first, last = connection.execute(
                text(
                    "SELECT MIN(received_at), MAX(processed_at) FROM events "
                    "WHERE delivery_id LIKE :p"
                ),
                {"p": pattern},
            ).one()
    finally:
        engine.dispose()
    return parse_at(str(last)) - parse_at(str(first))


def duplicates(server: Server) -> dict[str, int]:
    """16 deliveries, each sent twice at the same moment on two connections."""
    _, requests = deliveries(server, "dupe", 16, push_body(server))
    load = burst(HOST, server.port, [r for r in requests for _ in (0, 1)], 32)
    server.accepted += sum(1 for s in load.statuses if s == 202)
    return {
        "sent": 32,
        "accepted_202": sum(1 for s in load.statuses if s == 202),
        "duplicate_200": sum(1 for b in load.bodies if b'"duplicate"' in b),
        "events": sum(wait_processed(server, "dupe-%", 16).values()),
    }


def processing(server: Server, n: int, clients: int, profile: bool) -> dict[str, Any]:
    start_worker(server, profile)
    wait_processed(server, "%", server.accepted)
    dupes = duplicates(server)
    _, requests = deliveries(server, "proc", n, push_body(server))
    load = burst(HOST, server.port, requests, clients)
    server.accepted += sum(1 for s in load.statuses if s == 202)
    wait_processed(server, "proc-%", n)
    span = processing_span(server, "proc-%")
    counts = event_counts(server, "%")
    events = sum(counts.values())
    once = counts.get(("processed", 1), 0)
    return {
        "burst": n,
        "processed_per_s": round(n / span, 1),
        "received_to_processed_s": round(span, 3),
        "duplicates": dupes,
        "accepted_202": server.accepted,
        "events": events,
        "processed_once": once,
        "statuses": {f"{s}/{a}": c for (s, a), c in sorted(counts.items())},
        "exactly_once": server.accepted == events == once,
    }


# ---------------------------------------------------------------- run


def figures(servers: list[Server]) -> dict[str, Any]:
    bare = next((s for s in servers if s.name == "bare"), None)
    out: dict[str, Any] = {}
    for server in servers:
        rounds = server.rounds
        entry = {
            "per_s": round(median(r["per_s"] for r in rounds), 1),
            "p50_ms": round(median(r["p50_ms"] for r in rounds), 2),
            "p99_ms": round(median(r["p99_ms"] for r in rounds), 2),
            "rounds": rounds,
        }
        if bare is not None and server is not bare:
            ratios = [r["per_s"] / b["per_s"] for r, b in zip(rounds, bare.rounds, strict=True)]
            entry["ratio_to_bare"] = round(median(ratios), 3)
        out[server.name] = entry
    return out


def run(args: argparse.Namespace, servers: list[Server]) -> dict[str, Any]:
    for server in servers:  # imports, caches, connections: not what a round measures
        measure_round(server, 200, args.clients, -1)
    for index in range(args.rounds):
        shift = index % len(servers)
        for server in servers[shift:] + servers[:shift]:
            server.rounds.append(measure_round(server, args.deliveries, args.clients, index))
            print(f"round {index} {server.name}: {server.rounds[-1]}", file=sys.stderr)
    result: dict[str, Any] = {"intake": figures(servers), "processing": {}}
    for server in servers:
        if server.name != "bare":
            result["processing"][server.name] = processing(
                server, args.burst, args.clients, args.profile_worker
            )
    return result


def table(result: dict[str, Any]) -> str:
    lines = [f"{'':10}{'deliveries/s':>14}{'p50 ms':>9}{'p99 ms':>9}{'x bare':>9}"]
    for name, entry in result["intake"].items():
        ratio = entry.get("ratio_to_bare")
        shown = f"{ratio:.3f}" if ratio is not None else "1"
        row = f"{entry['per_s']:14.1f}{entry['p50_ms']:9.2f}{entry['p99_ms']:9.2f}{shown:>9}"
        lines.append(f"{name:10}{row}")
    for name, proc in result["processing"].items():
        lines.append(
            f"{name}: {proc['burst']} no-op pushes processed at {proc['processed_per_s']}/s; "
            f"{proc['accepted_202']} answered 202 → {proc['events']} events, "
            f"{proc['processed_once']} processed after exactly one attempt "
            f"({'exactly once' if proc['exactly_once'] else 'NOT exactly once'}); "
            f"dedupe: {proc['duplicates']}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--deliveries", type=int, default=1600, help="per server and round")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--burst", type=int, default=1000, help="no-op pushes, worker running")
    parser.add_argument("--only", choices=["embedded", "redis"])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="flushed")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    parser.add_argument("--profile-api", action="store_true", help="py-spy the stackrun APIs")
    parser.add_argument("--profile-worker", action="store_true", help="py-spy the workers")
    args = parser.parse_args()
    names = [n for n in ("embedded", "redis") if args.only in (None, n)]
    with contextlib.ExitStack() as stack:
        bare_dir = Path(tempfile.mkdtemp(prefix="stackrun-webhooks-bare-"))
        stack.callback(shutil.rmtree, bare_dir, True)
        servers = []
        for name in names:
            server = stack.enter_context(deployment(name, args.redis_url, args.keep))
            start_stackrun(server, args.profile_api)
            servers.append(server)
        bare = start_bare(bare_dir)
        stack.callback(stop_all, bare)
        result = run(args, [bare, *servers])
    result["meta"] = {
        "rounds": args.rounds,
        "deliveries": args.deliveries,
        "clients": args.clients,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
