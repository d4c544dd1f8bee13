"""API list latency of issue 21 on PostgreSQL: `/api/v1/runs`, `/stacks` and `/pipelines`, a
page of 50 with a few filters, against `GET /healthz` of the same server in the same run.

Run: .venv/bin/python bench/api_lists.py [--stacks 1000] [--runs 100000] [--rounds 150]
                                         [--before DIR] [--json]

A fresh PostgreSQL database per code tree (CREATEd, migrated by that tree, DROPped at the end)
is filled by COPY with the same rows: 10 repositories, --stacks stacks, a pipeline per ten
runs (one in five PROPOSED, with a PR number and a report), --runs runs (nine in ten in a
pipeline with upstream edges, the rest drift runs; mostly FINISHED, some FAILED, DISCARDED,
SKIPPED, a few UNCONFIRMED and QUEUED, each with a plan summary), a hand-off per hundred
pipelines; then ANALYZE. Each tree's `stackrun api` runs as its own process (with
`--before DIR`, a checkout of older code, e.g. `git archive main | tar -x -C DIR`, runs too:
its code with this virtualenv). Every round sends each request once to each server on one
keep-alive connection per server, in a shuffled order, the filter values drawn anew (a random
stack, pipeline, repository); the warm-up rounds are not counted. Printed: p50 and p95 per
request and p95 ÷ the healthz p95 of the same server. Only 127.0.0.1 is contacted; nothing
is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from common import HOST, free_port, percentile, tail

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REPOSITORIES = 10
STATES = [("FINISHED", 80), ("FAILED", 5), ("DISCARDED", 8), ("SKIPPED", 5), ("CANCELED", 1)]
WARMUP = 10
# (label, path and query; {stack} {pipeline} {repository} {pr} are drawn each round)
REQUESTS = [
    ("healthz", "/healthz"),
    ("runs", "/api/v1/runs?limit=50"),
    ("runs state=FAILED", "/api/v1/runs?state=FAILED&limit=50"),
    ("runs state=UNCONFIRMED", "/api/v1/runs?state=UNCONFIRMED&limit=50"),
    ("runs stack=", "/api/v1/runs?stack={stack}&limit=50"),
    ("runs pipeline=", "/api/v1/runs?pipeline={pipeline}&limit=50"),
    ("stacks (all)", "/api/v1/stacks"),
    ("stacks limit=50", "/api/v1/stacks?limit=50&offset={offset}"),
    ("pipelines", "/api/v1/pipelines?limit=50"),
    ("pipelines repository=", "/api/v1/pipelines?repository={repository}&limit=50"),
    ("pipelines kind=PROPOSED", "/api/v1/pipelines?kind=PROPOSED&limit=50"),
    ("pipelines pr=", "/api/v1/pipelines?pr={pr}&limit=50"),
]


def say(message: str) -> None:
    print(f"[api_lists] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- seeding by COPY


def _copy(
    cursor: psycopg.Cursor[Any], table: str, columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _state(rng: random.Random) -> str:
    return rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]


def seed(dsn: str, stacks: int, runs: int, seed_value: int = 1) -> dict[str, Any]:
    """The rows of the module docstring; returns what the requests draw their filters from."""
    rng = random.Random(seed_value)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    stack_ids = [f"acme/repo{i % REPOSITORIES}/stacks/s{i:05d}" for i in range(stacks)]
    pipelines = runs // 10
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        _copy(
            cursor,
            "repositories",
            ["id", "name", "clone_url", "branch", "provider", "webhook_secret_enc", "created_at"],
            [
                (
                    i + 1,
                    f"acme/repo{i}",
                    f"https://example.com/acme/repo{i}.git",
                    "main",
                    "github",
                    b"x",
                    now,
                )
                for i in range(REPOSITORIES)
            ],
        )
        _copy(
            cursor,
            "stacks",
            [
                "id",
                "repository_id",
                "path",
                "name",
                "labels",
                "depends_on",
                "autodeploy",
                "managed_state",
                "worker_pool",
                "deleted",
                "created_at",
                "updated_at",
            ],
            [
                (
                    sid,
                    i % REPOSITORIES + 1,
                    f"stacks/s{i:05d}",
                    f"s{i:05d}",
                    json.dumps(["team-" + str(i % 7)]),
                    json.dumps([]),
                    i % 2 == 0,
                    True,
                    "default",
                    False,
                    now,
                    now,
                )
                for i, sid in enumerate(stack_ids)
            ],
        )
        pipeline_rows = []
        for p in range(1, pipelines + 1):
            proposed = p % 5 == 0
            pipeline_rows.append(
                (
                    p,
                    p % REPOSITORIES + 1,
                    f"{p:040x}",
                    f"feature/f{p % 50}" if proposed else "main",
                    "PROPOSED" if proposed else "TRACKED",
                    p % 400 + 1 if proposed else None,
                    "",
                    "[]",
                    "sent" if proposed else None,
                    "",
                    0,
                    0,
                    now + timedelta(seconds=p),
                )
            )
        _copy(
            cursor,
            "pipelines",
            [
                "id",
                "repository_id",
                "commit_sha",
                "branch",
                "kind",
                "pr_number",
                "note",
                "graph_warnings",
                "report_state",
                "report_error",
                "report_attempts",
                "report_seq",
                "created_at",
            ],
            pipeline_rows,
        )
        run_rows = []
        for r in range(1, runs + 1):
            in_pipeline = r % 10 != 0
            pipeline = min(pipelines, (r - 1) // 10 + 1) if in_pipeline else None
            stack = stack_ids[rng.randrange(stacks)]
            state = _state(rng)
            if r > runs - 200:
                state = rng.choice(["QUEUED", "UNCONFIRMED", "PLANNING"])
            upstream = [r - 1] if in_pipeline and r % 10 > 1 else []
            created = now + timedelta(seconds=r)
            run_rows.append(
                (
                    r,
                    stack,
                    pipeline,
                    "TRACKED" if in_pipeline else "DRIFT",
                    state,
                    f"{stack}@{r:040x}#X",
                    f"{r:040x}",
                    f"change {r}",
                    "dev",
                    "main",
                    "push:dev" if in_pipeline else "drift",
                    json.dumps(upstream),
                    f"changed: stacks/{r}",
                    json.dumps({"add": r % 3, "change": 1, "destroy": 0}),
                    json.dumps(
                        [
                            {"address": f"null_resource.r{i}", "actions": ["create"]}
                            for i in range(20)
                        ]
                    ),
                    0,
                    created,
                    created,
                    created + timedelta(seconds=30),
                )
            )
        _copy(
            cursor,
            "runs",
            [
                "id",
                "stack_id",
                "pipeline_id",
                "kind",
                "state",
                "dedupe_key",
                "commit_sha",
                "commit_message",
                "commit_author",
                "branch",
                "triggered_by",
                "upstream_run_ids",
                "trigger_reason",
                "plan_summary",
                "resource_changes",
                "plan_attempts",
                "created_at",
                "updated_at",
                "finished_at",
            ],
            run_rows,
        )
        _copy(
            cursor,
            "handoffs",
            [
                "pipeline_id",
                "run_id",
                "stack_id",
                "status",
                "message",
                "triggered_by",
                "spec",
                "created_at",
            ],
            [
                (p, (p - 1) * 10 + 1, run_rows[(p - 1) * 10][1], "done", "", "stackrun", "{}", now)
                for p in range(1, pipelines + 1, 100)
            ],
        )
        for table in ("repositories", "pipelines", "runs", "handoffs"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        connection.commit()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return {
        "stacks": stack_ids,
        "pipelines": pipelines,
        "prs": 400,
        "runs_per_stack_mean": runs / stacks,
    }


# ---------------------------------------------------------------- servers


@dataclass
class Server:
    label: str
    tree: Path
    database: str
    port: int = 0
    token: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    connection: http.client.HTTPConnection | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@{HOST}:5432/{self.database}"

    def env(self, workdir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STACKRUN_")}
        env.update(
            {
                "STACKRUN_DATABASE_URL": f"postgresql+psycopg://postgres@{HOST}:5432/{self.database}",
                "STACKRUN_DATA_DIR": str(workdir / self.label),
                "PYTHONPATH": str(self.tree),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env


def cli(server: Server, workdir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        env=server.env(workdir),
        cwd=server.tree,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{server.label}: orchestrator.cli {args[0]} failed:\n{done.stderr[-3000:]}"
        )
    return done.stdout


def start(server: Server, workdir: Path) -> None:
    server.port = free_port()
    server.log = workdir / f"api-{server.label}.log"
    with server.log.open("wb") as handle:
        server.process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.cli", "api", "--port", str(server.port)],
            env=server.env(workdir),
            cwd=server.tree,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.label}: the API exited:\n{tail(server.log)}")
        with contextlib.suppress(OSError):
            status, _, _ = request(server, "/healthz")
            if status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{server.label}: the API did not answer in 90 s:\n{tail(server.log)}")


def stop(server: Server) -> None:
    if server.connection is not None:
        server.connection.close()
    if server.process is None or server.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)


def request(server: Server, path: str) -> tuple[int, bytes, float]:
    """(status, body, seconds) on the server's keep-alive connection; a connection the server
    closed while idle (uvicorn's keep-alive timeout) is opened again and the request timed
    anew."""
    headers = {"Authorization": f"Bearer {server.token}"} if server.token else {}
    for attempt in range(2):
        if server.connection is None:
            server.connection = http.client.HTTPConnection(HOST, server.port, timeout=60)
        begin = time.perf_counter()
        try:
            server.connection.request("GET", path, headers=headers)
            response = server.connection.getresponse()
            body = response.read()
            return response.status, body, time.perf_counter() - begin
        except (OSError, http.client.HTTPException):
            server.connection.close()
            server.connection = None
            if attempt:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def databases(labels: list[str]) -> Iterator[dict[str, str]]:
    names = {
        label: f"stackrun_bench_lists_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        for label in labels
    }
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield names
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- measuring


def fill(path: str, rng: random.Random, drawn: dict[str, Any]) -> str:
    return path.format(
        stack=drawn["stacks"][rng.randrange(len(drawn["stacks"]))].replace("/", "%2F"),
        pipeline=rng.randint(1, drawn["pipelines"]),
        repository=rng.randint(1, REPOSITORIES),
        pr=rng.randint(1, drawn["prs"]),
        offset=rng.randrange(0, len(drawn["stacks"]) - 50),
    )


def measure(servers: list[Server], rounds: int, drawn: dict[str, Any], seed_value: int) -> None:
    rng = random.Random(seed_value)
    for index in range(WARMUP + rounds):
        order = [(s, label, fill(path, rng, drawn)) for s in servers for label, path in REQUESTS]
        rng.shuffle(order)
        for server, label, path in order:
            status, body, elapsed = request(server, path)
            if status != 200:
                raise RuntimeError(f"{server.label}: GET {path} answered {status}: {body[:300]!r}")
            if index >= WARMUP:
                server.samples.setdefault(label, []).append(elapsed)
                server.sizes[label] = len(body)
        if index and index % 25 == 0:
            say(f"round {index}/{WARMUP + rounds}")


def report(servers: list[Server]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for server in servers:
        base = percentile(server.samples["healthz"], 95)
        rows = {}
        for label, _ in REQUESTS:
            samples = server.samples[label]
            p95 = percentile(samples, 95)
            rows[label] = {
                "p50_ms": round(percentile(samples, 50) * 1000, 2),
                "p95_ms": round(p95 * 1000, 2),
                "p95_over_healthz_p95": round(p95 / base, 2),
                "bytes": server.sizes[label],
                "n": len(samples),
            }
        result[server.label] = rows
    return result


def print_table(result: dict[str, Any]) -> None:
    labels = list(result)
    head = "".join(f" | {lab:>8} p50   p95  x hz" for lab in labels)
    print(f"{'request':26}{head}")
    for name, _ in REQUESTS:
        cells = "".join(
            f" | {result[lab][name]['p50_ms']:8.1f} {result[lab][name]['p95_ms']:6.1f} "
            f"{result[lab][name]['p95_over_healthz_p95']:5.1f}"
            for lab in labels
        )
        print(f"{name:26}{cells}")
    if "before" in result and "after" in result:
        print(
            "after p95 ÷ before p95: "
            + ", ".join(
                f"{name} {result['after'][name]['p95_ms'] / result['before'][name]['p95_ms']:.2f}"
                for name, _ in REQUESTS[1:]
            )
        )


def run(args: argparse.Namespace) -> dict[str, Any]:
    trees = {"after": REPO_ROOT} | ({"before": args.before.resolve()} if args.before else {})
    with (
        databases(list(trees)) as names,
        tempfile.TemporaryDirectory(prefix="stackrun-lists-") as tmp,
    ):
        workdir = Path(tmp)
        servers = [Server(label, tree, names[label]) for label, tree in trees.items()]
        drawn: dict[str, Any] = {}
        try:
            for server in servers:
                (workdir / server.label).mkdir()
                cli(server, workdir, "migrate")
                begin = time.perf_counter()
                drawn = seed(server.dsn, args.stacks, args.runs)
                say(
                    f"{server.label}: seeded {args.stacks} stacks, {args.runs} runs in "
                    f"{time.perf_counter() - begin:.1f} s"
                )
                server.token = (
                    cli(server, workdir, "tokens", "create", "--name", "bench", "--role", "viewer")
                    .strip()
                    .splitlines()[-1]
                )
                start(server, workdir)
            measure(servers, args.rounds, drawn, args.seed)
        finally:
            for server in servers:
                stop(server)
    return report(servers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stacks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--before", type=Path, help="a checkout of older code to run beside")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    result = run(args)
    result["load_average_at_start_end"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"API lists, {args.stacks} stacks, {args.runs} runs, PostgreSQL, {args.rounds} "
            f"rounds (ms; x hz = p95 ÷ healthz p95 of the same server)"
        )
        print_table({k: v for k, v in result.items() if k != "load_average_at_start_end"})
        print(f"load average at start/end: {result['load_average_at_start_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
