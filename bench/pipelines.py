"""Pipeline benchmarks of issue 4 on Redis + PostgreSQL: orchestration overhead and makespan.

Run: .venv/bin/python bench/pipelines.py [--pushes K] [--layers 5] [--width 6] [--workers 2]
       [--concurrency 2] [--stack-samples 3] [--seed 1] [--redis-db 12] [--redis-port 6379]
       [--poll 0.25] [--only overhead|makespan] [--sandbox auto|bwrap|none] [--json] [--keep]

One deployment, started like tests/integration/harness.py's `start_services`: a fresh
PostgreSQL database (CREATEd, DROPped at the end), a flushed Redis db, `orchestrator.cli migrate`,
then `orchestrator.cli api --port P` and `--workers` x `orchestrator.cli worker --concurrency C`
as separate processes, each in its own process group, logs in a temporary directory. Terraform
runs offline (TF_CLI_CONFIG_FILE from `orchestrator.toolchain.offline_cli_config`); no beat.

overhead   repository bench/overhead with ONE stack `app` (`stack { autodeploy = true }`, two
           null_resources whose trigger changes on every push). A warm-up push, then K pushes:
           webhook sent → run FINISHED (the FINISHED transition of the run's history; the poll
           every --poll seconds is the fallback and is reported too). Interleaved with it, the
           same commands by hand in a temp copy of the stack with local state, the same
           terraform binary and CLI config: init -input=false, plan -input=false -out=p,
           show -json p, apply -input=false p (warm-up, then K times, a new trigger value each
           time). Ratio = p50 orchestrated ÷ p50 by hand (target ≤ 1.15).
makespan   repository bench/dag: --layers x --width stacks, each below the top layer reading
           `id` of 1-3 stacks of the layer above through `input` blocks (seeded), all
           autodeploy, each applying a null_resource that sleeps 2 s in a local-exec. One push
           creates the pipeline. Makespan = webhook sent → last FINISHED transition. Lower
           bound = max(longest path x per-stack time, stacks x per-stack time ÷ slots) with the
           per-stack time (a) init/plan/show/apply of one such stack by hand, measured in the
           same run, and (b) the 2 s sleep alone. Ratio = makespan ÷ bound (target ≤ 1.10).
           Also the same DAG by hand on --workers x --concurrency threads with a zero-overhead
           scheduler (`hand_dag`): what any orchestrator could reach on this machine, where
           four terraform processes share the cores the one-stack sample had to itself.

Only 127.0.0.1 is contacted. Every loop is bounded; every process group is stopped (SIGTERM,
then SIGKILL), the Redis db flushed and the database dropped at the end, also on failure.
Figures are printed, never asserted; a failed or stalled run is reported with its reason, its
log tail and the worker logs' errors.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from common import HOST, free_port, parse_at, percentile, tail

from orchestrator.toolchain import offline_cli_config, resolve_terraform

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-pipelines-secret"
ZERO = "0" * 40
TERMINAL = {"FINISHED", "FAILED", "DISCARDED", "CANCELED", "SKIPPED", "STOPPED"}
START_TIMEOUT = 90.0
RUN_TIMEOUT = 240.0  # one orchestrated push, webhook → terminal
EVENT_TIMEOUT = 120.0  # a push event processed into a pipeline
PIPELINE_TIMEOUT = 900.0  # the whole DAG
STALL_TIMEOUT = 120.0  # no run of the DAG changed state for this long → stalled
TF_TIMEOUT = 300.0  # one terraform command by hand
APPLY_SLEEP_S = 2.0
OVERHEAD_TARGET = 1.15
MAKESPAN_TARGET = 1.10
PHASES = [  # history transitions of an autodeploy run, in order
    ("QUEUED", "PREPARING", "queued→claimed"),
    ("PREPARING", "INITIALIZING", "checkout"),
    ("INITIALIZING", "PLANNING", "init"),
    ("PLANNING", "CONFIRMED", "plan+show+store"),
    ("CONFIRMED", "APPLYING", "apply doorbell→claimed"),
    ("APPLYING", "FINISHED", "checkout+init+apply+output"),
]


class BenchError(Exception):
    """The product or the set-up did not behave; the message says what was seen."""


# ---------------------------------------------------------------- small helpers


def p50(values: list[float]) -> float:
    return round(percentile(values, 50), 3)


def log_errors(path: Path, limit: int = 20) -> list[str]:
    """ERROR / Traceback / exception lines of a service log, the last `limit` of them."""
    pattern = re.compile(r"ERROR|CRITICAL|Traceback|Error:|Exception|WARNING")
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line[:400] for line in lines if pattern.search(line)][-limit:]


def say(message: str) -> None:
    print(f"[pipelines] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- deployment


@dataclass
class Services:
    url: str
    env: dict[str, str]
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    named_workers: bool = False

    def worker_logs(self) -> list[Path]:
        return [p for p in self.logs if p.name.startswith("worker")]


@contextlib.contextmanager
def postgres_and_redis(redis_db: int, redis_port: int = 6379) -> Iterator[tuple[str, str, str]]:
    """(database_url, broker_url, description): a database of our own and a flushed Redis db."""
    import psycopg
    import redis

    database = f"stackrun_bench_pl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    client = redis.Redis(host=HOST, port=redis_port, db=redis_db, socket_timeout=5)
    client.flushdb()
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        yield (
            f"postgresql+psycopg://postgres@{HOST}:5432/{database}",
            f"redis://{HOST}:{redis_port}/{redis_db}",
            f"PostgreSQL database {database} + Redis db {redis_db}",
        )
    finally:
        with contextlib.suppress(Exception):
            client.flushdb()
        client.close()
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def service_env(
    workdir: Path, port: int, tf_cli_config: Path, sandbox: str = "auto"
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STACKRUN_", "TF_VAR_"))}
    env.update(
        {
            "STACKRUN_DATA_DIR": str(workdir / "data"),
            "STACKRUN_SANDBOX": sandbox,
            "STACKRUN_API_URL": f"http://{HOST}:{port}",
            "STACKRUN_ALLOW_LOCAL_REPOSITORIES": "true",  # the bench's repositories are file://
            "TF_CLI_CONFIG_FILE": str(tf_cli_config),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
    )
    return env


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(
            command,
            env=env,
            cwd=log.parent,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"orchestrator.cli {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def start_services(
    services: Services, database_url: str, broker_url: str, workers: int, concurrency: int
) -> None:
    """migrate, then the API and the workers as separate processes; wait for /readyz."""
    services.env.update({"STACKRUN_DATABASE_URL": database_url, "STACKRUN_BROKER_URL": broker_url})
    (services.workdir / "data").mkdir(parents=True, exist_ok=True)
    cli(services.env, "migrate")
    port = services.url.rsplit(":", 1)[1]
    python = [sys.executable, "-m", "orchestrator.cli"]
    api_log = services.workdir / "api.log"
    services.processes.append(spawn([*python, "api", "--port", port], services.env, api_log))
    services.logs.append(api_log)
    # Two workers on one host need distinct Celery node names; use `--name` where the CLI has it.
    named = workers > 1 and "--name" in cli(services.env, "worker", "--help")
    services.named_workers = named
    for index in range(workers):
        log = services.workdir / f"worker-{index + 1}.log"
        command = [*python, "worker", "--concurrency", str(concurrency)]
        command += ["--name", f"bench-{index + 1}"] if named else []
        services.processes.append(spawn(command, services.env, log))
        services.logs.append(log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for process, log in zip(services.processes, services.logs, strict=True):
            if process.poll() is not None:
                raise BenchError(f"{log.name}: the process exited early:\n{tail(log)}")
        try:
            if httpx.get(f"{services.url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        raise BenchError(f"the API was not ready in {START_TIMEOUT:.0f}s:\n{tail(api_log)}")
    time.sleep(2.0)  # let the celery workers finish booting and subscribe to the queue


def stop_services(services: Services) -> None:
    """SIGTERM every process group, SIGKILL what is left after 20 s."""
    for process in services.processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in services.processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for process in services.processes:  # the group may outlive its leader (celery children)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


# ---------------------------------------------------------------- git and the API


class GitRepo:
    """A bare repository served over file:// and a working clone that pushes to it."""

    def __init__(self, root: Path, name: str) -> None:
        self.name = name
        self.bare = root / f"{name.replace('/', '-')}.git"
        self.work = root / f"{name.replace('/', '-')}-work"
        self.env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
        self._git("init", "-q", "--bare", "-b", "main", str(self.bare), cwd=root)
        self._git("init", "-q", "-b", "main", str(self.work), cwd=root)
        self._git("remote", "add", "origin", str(self.bare))
        self.head = ZERO

    @property
    def clone_url(self) -> str:
        return f"file://{self.bare}"

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd or self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def commit(self, files: dict[str, str], message: str) -> tuple[str, str]:
        for path, text in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self._git("add", "-A")
        self._git("commit", "-q", "-m", message)
        self._git("push", "-q", "origin", "main")
        before, self.head = self.head, self._git("rev-parse", "HEAD")
        return before, self.head

    def push_body(self, before: str, after: str) -> bytes:
        return json.dumps(
            {
                "ref": "refs/heads/main",
                "before": before,
                "after": after,
                "created": before == ZERO,
                "deleted": False,
                "forced": False,
                "repository": {"full_name": self.name, "clone_url": self.clone_url},
                "pusher": {"name": "bench"},
                "sender": {"login": "bench"},
            }
        ).encode()


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        if response.status_code != 200:
            raise BenchError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    def register(self, repo: GitRepo) -> None:
        response = self.http.post(
            "/api/v1/repositories",
            json={
                "name": repo.name,
                "clone_url": repo.clone_url,
                "branch": "main",
                "provider": "github",
                "webhook_secret": SECRET,
            },
        )
        if response.status_code != 201:
            raise BenchError(f"registering {repo.name}: {response.status_code} {response.text}")

    def push(self, repo: GitRepo, before: str, after: str) -> tuple[str, float]:
        """Send the signed webhook; (delivery id, wall-clock time just before sending)."""
        body = repo.push_body(before, after)
        delivery = str(uuid.uuid4())
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": "sha256="
            + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json",
        }
        sent = time.time()
        response = self.http.post("/webhooks/github", content=body, headers=headers)
        if response.status_code != 202:
            raise BenchError(f"webhook answered {response.status_code}: {response.text[:300]}")
        return delivery, sent

    def wait_event(self, delivery: str) -> dict[str, Any]:
        deadline = time.monotonic() + EVENT_TIMEOUT
        while time.monotonic() < deadline:
            event = dict(self.get(f"/api/v1/events/{delivery}"))
            if event["status"] not in {"received", "processing"}:
                if event["status"] != "processed":
                    raise BenchError(f"push event ended {event['status']}: {event['detail']}")
                return event
            time.sleep(0.05)
        raise BenchError(f"push event {delivery} not processed within {EVENT_TIMEOUT:.0f}s")

    def run_log_tail(self, run_id: int, lines: int = 15) -> list[str]:
        response = self.http.get(f"/api/v1/runs/{run_id}/logs")
        return response.text.splitlines()[-lines:] if response.status_code == 200 else []


# ---------------------------------------------------------------- terraform by hand


def terraform_env(tf_cli_config: Path) -> dict[str, str]:
    """What the worker gives terraform (workers/terraform.py base_environment), minus its
    plugin cache and managed-state backend: local state, the same offline CLI config."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "TF_CLI_CONFIG_FILE": str(tf_cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
    )
    return env


HAND_STEPS = [
    ("init", ["init", "-input=false"]),
    ("plan", ["plan", "-input=false", "-out=p"]),
    ("show", ["show", "-json", "p"]),
    ("apply", ["apply", "-input=false", "p"]),
]


def hand_run(directory: Path, binary: str, env: dict[str, str]) -> dict[str, float]:
    """init, plan -out, show -json, apply of the plan: seconds per command, total, CPU."""
    times: dict[str, float] = {}
    before = os.times()
    for name, args in HAND_STEPS:
        started = time.perf_counter()
        done = subprocess.run(
            [binary, *args],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=TF_TIMEOUT,
            check=False,
        )
        times[name] = round(time.perf_counter() - started, 4)
        if done.returncode != 0:
            raise BenchError(f"terraform {name} by hand failed: {done.stderr[-1500:]}")
    after = os.times()
    times["total"] = round(sum(times[name] for name, _ in HAND_STEPS), 4)
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    times["cpu"] = round(cpu, 3)
    return times


def steps_p50(samples: list[dict[str, float]]) -> dict[str, float]:
    keys = [name for name, _ in HAND_STEPS] + ["total", "cpu"]
    return {k: p50([s[k] for s in samples]) for k in keys}


# ---------------------------------------------------------------- 1. orchestration overhead


OVERHEAD_STACK = "app"


def overhead_files(value: int) -> dict[str, str]:
    main = (
        'resource "null_resource" "one" {\n'
        f'  triggers = {{\n    v = "{value}"\n  }}\n}}\n\n'
        'resource "null_resource" "two" {\n'
        f'  triggers = {{\n    v = "{value}"\n  }}\n}}\n\n'
        'output "one_id" {\n  value = null_resource.one.id\n}\n'
    )
    return {
        f"{OVERHEAD_STACK}/stackrun.hcl": "stack {\n  autodeploy = true\n}\n",
        f"{OVERHEAD_STACK}/main.tf": main,
    }


def wait_single_run(api: Api, stack: str, sha: str, sent: float, poll: float) -> dict[str, Any]:
    """Poll until the push's run is terminal; the detailed run plus the observed end time."""
    deadline = time.monotonic() + RUN_TIMEOUT
    run_id: int | None = None
    while time.monotonic() < deadline:
        if run_id is None:
            for run in api.get("/api/v1/runs", stack=stack, limit=5):
                if run["commit"]["sha"] == sha:
                    run_id = int(run["id"])
        if run_id is not None:
            run = dict(api.get(f"/api/v1/runs/{run_id}"))
            if run["state"] in TERMINAL:
                run["observed_s"] = time.time() - sent
                return run
        time.sleep(poll)
    where = f"run {run_id} still not terminal" if run_id else "no run was created"
    raise BenchError(f"push of {sha[:12]}: {where} after {RUN_TIMEOUT:.0f}s")


def phase_times(history: list[dict[str, Any]], sent: float) -> dict[str, float]:
    at: dict[str, float] = {}
    for entry in history:
        at.setdefault(entry["to"], parse_at(entry["at"]))
    phases = {"webhook→run created": round(at["QUEUED"] - sent, 4)} if "QUEUED" in at else {}
    for source, target, label in PHASES:
        if source in at and target in at:
            phases[label] = round(at[target] - at[source], 4)
    return phases


def orchestrated_sample(
    api: Api, repo: GitRepo, value: int, poll: float, stack_id: str
) -> dict[str, Any]:
    before, after = repo.commit(overhead_files(value), f"trigger {value}")
    _, sent = api.push(repo, before, after)
    run = wait_single_run(api, stack_id, after, sent, poll)
    if run["state"] != "FINISHED":
        raise BenchError(
            f"run {run['id']} of {stack_id} ended {run['state']}: {run['failure_reason']}\n"
            + "\n".join(api.run_log_tail(int(run["id"])))
        )
    states = [h["to"] for h in run["history"]]
    finished_at = next(parse_at(h["at"]) for h in run["history"] if h["to"] == "FINISHED")
    return {
        "run": run["id"],
        "value": value,
        "plan_summary": run["plan_summary"],
        "states": states,
        "wall_s": round(finished_at - sent, 4),
        "observed_s": round(run["observed_s"], 4),
        "phases": phase_times(run["history"], sent),
    }


def overhead_by_hand(
    directory: Path, value: int, binary: str, env: dict[str, str]
) -> dict[str, float]:
    """The overhead stack at push `value`, copied to `directory` and run there by hand."""
    for path, text in overhead_files(value).items():
        (directory / Path(path).name).write_text(text)
    return hand_run(directory, binary, env)


def measure_overhead(
    api: Api, gitroot: Path, tf_cli_config: Path, pushes: int, poll: float
) -> dict[str, Any]:
    repo = GitRepo(gitroot, "bench/overhead")
    api.register(repo)
    stack_id = f"{repo.name}/{OVERHEAD_STACK}"
    binary = resolve_terraform("terraform")
    env = terraform_env(tf_cli_config)
    by_hand_dir = Path(tempfile.mkdtemp(prefix="by-hand-", dir=gitroot))

    def hand(value: int) -> dict[str, float]:
        return overhead_by_hand(by_hand_dir, value, binary, env)

    say("overhead: warm-up push (creates the stack) and warm-up hand run")
    warm_orchestrated = orchestrated_sample(api, repo, 0, poll, stack_id)
    warm_hand = hand(0)
    orchestrated: list[dict[str, Any]] = []
    by_hand: list[dict[str, float]] = []
    for index in range(1, pushes + 1):  # interleaved, so both see the same machine
        orchestrated.append(orchestrated_sample(api, repo, index, poll, stack_id))
        by_hand.append(hand(index))
        say(
            f"overhead {index}/{pushes}: orchestrated {orchestrated[-1]['wall_s']:.2f}s, "
            f"by hand {by_hand[-1]['total']:.2f}s"
        )
    wall = [s["wall_s"] for s in orchestrated]
    observed = [s["observed_s"] for s in orchestrated]
    labels = ["webhook→run created"] + [label for _, _, label in PHASES]
    phases = {
        label: p50([s["phases"][label] for s in orchestrated if label in s["phases"]])
        for label in labels
    }
    hand_p50 = p50([s["total"] for s in by_hand])
    return {
        "stack": stack_id,
        "pushes": pushes,
        "orchestrated": {
            "p50_s": p50(wall),
            "max_s": round(max(wall), 3),
            "observed_by_poll_p50_s": p50(observed),
            "phases_p50_s": phases,
            "warmup": warm_orchestrated,
            "samples": orchestrated,
        },
        "by_hand": {
            "p50_s": hand_p50,
            "max_s": round(max(s["total"] for s in by_hand), 3),
            "steps_p50_s": steps_p50(by_hand),
            "warmup": warm_hand,
            "samples": by_hand,
        },
        "ratio_p50": round(p50(wall) / hand_p50, 3),
        "target": OVERHEAD_TARGET,
    }


# ---------------------------------------------------------------- 2. makespan of a layered DAG


def generate_dag(layers: int, width: int, seed: int) -> dict[str, list[str]]:
    """stack path → its upstream paths (1-3 of the layer above; none in the top layer)."""
    rng = random.Random(seed)
    dag: dict[str, list[str]] = {}
    above: list[str] = []
    for layer in range(layers):
        current = [f"l{layer}s{i}" for i in range(width)]
        for path in current:
            dag[path] = (
                sorted(rng.sample(above, rng.randint(1, min(3, len(above))))) if above else []
            )
        above = current
    return dag


def dag_stack_files(path: str, upstreams: list[str]) -> dict[str, str]:
    inputs = "".join(
        f'\n  input "{up}_id" {{\n    stack  = "../{up}"\n    output = "id"\n  }}\n'
        for up in upstreams
    )
    variables = "".join(
        f'variable "{up}_id" {{\n  type    = string\n  default = ""\n}}\n\n' for up in upstreams
    )
    joined = ", ".join(f"var.{up}_id" for up in upstreams)
    main = (
        f"{variables}"
        'resource "null_resource" "x" {\n'
        "  triggers = {\n"
        f'    upstream = join(",", [{joined}])\n'
        "  }\n\n"
        '  provisioner "local-exec" {\n'
        f'    command = "sleep {APPLY_SLEEP_S:g}"\n'
        "  }\n"
        "}\n\n"
        'output "id" {\n  value = null_resource.x.id\n}\n'
    )
    return {
        f"{path}/stackrun.hcl": f"stack {{\n  autodeploy = true\n{inputs}}}\n",
        f"{path}/main.tf": main,
    }


def longest_path(dag: dict[str, list[str]]) -> int:
    """Stacks on the longest upstream→downstream chain."""
    depth: dict[str, int] = {}

    def of(path: str) -> int:
        if path not in depth:
            depth[path] = 1 + max((of(up) for up in dag[path]), default=0)
        return depth[path]

    return max(of(path) for path in dag)


def lower_bound(
    per_stack_s: float, chain: int, stacks: int, slots: int, makespan_s: float | None
) -> dict[str, Any]:
    critical = chain * per_stack_s
    work = stacks * per_stack_s / slots
    bound = max(critical, work)
    return {
        "per_stack_s": round(per_stack_s, 3),
        "critical_path_s": round(critical, 3),
        "work_over_slots_s": round(work, 3),
        "bound_s": round(bound, 3),
        "binds": "critical path" if critical >= work else "work ÷ slots",
        "ratio": round(makespan_s / bound, 3) if makespan_s is not None else None,
    }


def hand_dag(
    dag: dict[str, list[str]], root: Path, binary: str, env: dict[str, str], slots: int
) -> dict[str, Any]:
    """The same DAG by hand with a zero-overhead scheduler: `slots` threads, a stack starts the
    moment its upstreams applied (upstream `id` outputs read from their local state and passed
    as TF_VAR_*), oldest-ready first. The best any orchestrator could do on this machine."""
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    outputs: dict[str, str] = {}

    def one(path: str) -> float:
        directory = root / path
        directory.mkdir(parents=True)
        for name, text in dag_stack_files(path, dag[path]).items():
            (directory / Path(name).name).write_text(text)
        stack_env = {**env, **{f"TF_VAR_{up}_id": outputs[up] for up in dag[path]}}
        seconds = hand_run(directory, binary, stack_env)["total"]
        state = json.loads((directory / "terraform.tfstate").read_text())
        outputs[path] = str(state["outputs"]["id"]["value"])
        return seconds

    done: set[str] = set()
    started = time.perf_counter()
    ends: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=slots) as pool:
        running: dict[Future[float], str] = {}
        submitted: set[str] = set()
        while len(done) < len(dag):
            for path in dag:
                if path not in submitted and all(up in done for up in dag[path]):
                    submitted.add(path)
                    running[pool.submit(one, path)] = path
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()
                path = running.pop(future)
                done.add(path)
                ends[path] = time.perf_counter() - started
    return {"makespan_s": round(max(ends.values()), 3), "slots": slots}


def wait_pipeline(
    api: Api, pipeline_id: int, expected: int, poll: float, services: Services
) -> list[dict[str, Any]]:
    """Poll the pipeline's runs until all are terminal; a stall or the timeout is an error."""
    deadline = time.monotonic() + PIPELINE_TIMEOUT
    last_change = time.monotonic()
    seen: dict[int, str] = {}
    while time.monotonic() < deadline:
        runs = list(api.get("/api/v1/runs", pipeline=pipeline_id, limit=1000))
        states = {int(r["id"]): str(r["state"]) for r in runs}
        if states != seen:
            seen, last_change = states, time.monotonic()
        if len(runs) >= expected and all(s in TERMINAL for s in states.values()):
            return runs
        if time.monotonic() - last_change > STALL_TIMEOUT:
            raise BenchError(
                f"pipeline {pipeline_id} stalled: no run changed state for "
                f"{STALL_TIMEOUT:.0f}s; {count_states(runs)}; non-terminal: "
                + ", ".join(
                    f"{r['stack']}={r['state']}" for r in runs if r["state"] not in TERMINAL
                )
                + worker_errors(services)
            )
        time.sleep(poll)
    raise BenchError(f"pipeline {pipeline_id} not done within {PIPELINE_TIMEOUT:.0f}s")


def count_states(runs: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in runs:
        counts[run["state"]] = counts.get(run["state"], 0) + 1
    return counts


def worker_errors(services: Services) -> str:
    lines = [f"{p.name}: {line}" for p in services.worker_logs() for line in log_errors(p, 10)]
    return ("\nworker log errors:\n" + "\n".join(lines)) if lines else ""


PLAN_ENDS = ("CONFIRMED", "UNCONFIRMED", "FINISHED", "FAILED", "STOPPED")


def timeline(
    runs: list[dict[str, Any]], histories: dict[int, list[dict[str, Any]]], sent: float
) -> dict[str, Any]:
    """Where the time went. A run occupies a worker slot twice: its plan task (PREPARING → the
    end of planning) and its apply task (APPLYING → FINISHED); between them it waits in
    CONFIRMED for the apply doorbell. `eligible` = the last upstream's FINISHED (or creation)."""
    at = {
        run_id: {h["to"]: parse_at(h["at"]) - sent for h in history}
        for run_id, history in histories.items()
    }
    ends = {r["id"]: at[r["id"]].get("FINISHED") for r in runs}
    tasks: list[tuple[float, float]] = []
    dispatch: list[float] = []
    confirmed_wait: list[float] = []
    in_slot: list[float] = []
    phases: dict[str, list[float]] = {"init": [], "plan": [], "apply": []}
    for run in runs:
        t = at[run["id"]]
        if "PREPARING" not in t or "FINISHED" not in t:
            continue
        plan_end = min(t[s] for s in PLAN_ENDS if s in t)
        tasks.append((t["PREPARING"], plan_end))
        occupied = plan_end - t["PREPARING"]
        upstream_ends = [ends.get(u) for u in run["upstream_runs"] or []]
        eligible = max([e for e in upstream_ends if e is not None], default=t["QUEUED"])
        dispatch.append(t["PREPARING"] - max(eligible, t["QUEUED"]))
        if "INITIALIZING" in t and "PLANNING" in t:
            phases["init"].append(t["PLANNING"] - t["INITIALIZING"])
        if "PLANNING" in t:
            phases["plan"].append(plan_end - t["PLANNING"])
        if "APPLYING" in t:
            tasks.append((t["APPLYING"], t["FINISHED"]))
            occupied += t["FINISHED"] - t["APPLYING"]
            phases["apply"].append(t["FINISHED"] - t["APPLYING"])
            if "CONFIRMED" in t:
                confirmed_wait.append(t["APPLYING"] - t["CONFIRMED"])
        in_slot.append(occupied)
    points = sorted([(s, 1) for s, _ in tasks] + [(e, -1) for _, e in tasks])
    busy = peak = 0
    for _, step in points:
        busy += step
        peak = max(peak, busy)
    layer_ends: dict[str, float] = {}
    for run in runs:
        layer = run["stack"].rsplit("/", 1)[-1].split("s")[0]
        end = ends.get(run["id"])
        if end is not None:
            layer_ends[layer] = round(max(layer_ends.get(layer, 0.0), end), 3)
    last = max((e for _, e in tasks), default=float("nan"))
    return {
        "first_run_created_s": round(min(at[r["id"]]["QUEUED"] for r in runs), 3),
        "first_claim_s": round(min((s for s, _ in tasks), default=float("nan")), 3),
        "run_in_slot_p50_s": p50(in_slot),
        "slot_seconds_total": round(sum(in_slot), 2),
        "eligible_to_claimed_p50_s": p50(dispatch),
        "eligible_to_claimed_max_s": round(max(dispatch), 3) if dispatch else None,
        "confirmed_to_applying_p50_s": p50(confirmed_wait),
        "confirmed_to_applying_max_s": round(max(confirmed_wait), 3) if confirmed_wait else None,
        "init_p50_s": p50(phases["init"]),
        "plan_task_after_init_p50_s": p50(phases["plan"]),
        "apply_task_p50_s": p50(phases["apply"]),
        "peak_concurrent_tasks": peak,
        "layer_last_finished_s": dict(sorted(layer_ends.items())),
        "last_task_end_s": round(last, 3),
    }


def cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat; None where unavailable."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_fraction(start: tuple[int, int] | None, end: tuple[int, int] | None) -> float | None:
    if start is None or end is None or end[1] == start[1]:
        return None
    return round((end[0] - start[0]) / (end[1] - start[1]), 3)


def noop_tasks(services: Services) -> int:
    """Doorbells that found nothing to do (a run rung twice, or not yet claimable)."""
    count = 0
    for path in services.worker_logs():
        with contextlib.suppress(OSError):
            count += path.read_text(errors="replace").count("noop: not claimable")
    return count


def check_inputs(api: Api, repo: str, dag: dict[str, list[str]]) -> dict[str, Any]:
    """Did downstream stacks receive their upstreams' `id` outputs as TF_VAR_*? Read from the
    managed state: null_resource.x's `upstream` trigger should join the upstream ids."""
    ids: dict[str, str] = {}
    triggers: dict[str, str] = {}
    for path in dag:
        response = api.http.get(f"/api/v1/stacks/{repo}/{path}/state")
        if response.status_code != 200:
            continue
        for resource in json.loads(response.content).get("resources", []):
            if resource.get("type") == "null_resource" and resource.get("name") == "x":
                attributes = resource["instances"][0]["attributes"]
                ids[path] = str(attributes.get("id", ""))
                triggers[path] = str((attributes.get("triggers") or {}).get("upstream", ""))
    downstream = [p for p, ups in dag.items() if ups]
    correct = [
        p for p in downstream if triggers.get(p) == ",".join(ids.get(u, "?") for u in dag[p])
    ]
    empty = [p for p in downstream if triggers.get(p, "").strip(",") == ""]
    return {
        "downstream_stacks": len(downstream),
        "received_upstream_ids": len(correct),
        "received_empty_values": len(empty),
        "states_read": len(ids),
        "example": {p: triggers.get(p) for p in downstream[:1]},
    }


def measure_makespan(
    api: Api,
    services: Services,
    gitroot: Path,
    tf_cli_config: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    dag = generate_dag(args.layers, args.width, args.seed)
    chain = longest_path(dag)
    slots = args.workers * args.concurrency
    files: dict[str, str] = {}
    for path, ups in dag.items():
        files.update(dag_stack_files(path, ups))

    # Per-stack time by hand: one middle-layer stack, a fresh copy each time (each DAG run
    # creates its resource from empty state in a fresh workspace too).
    binary = resolve_terraform("terraform")
    env = terraform_env(tf_cli_config)
    sample_path = f"l{args.layers // 2}s0"
    hand: list[dict[str, float]] = []
    for index in range(args.stack_samples):
        directory = gitroot / f"one-stack-{index}"
        directory.mkdir()
        for name, text in dag_stack_files(sample_path, dag[sample_path]).items():
            (directory / Path(name).name).write_text(text)
        hand.append(hand_run(directory, binary, env))
        say(f"makespan: one stack by hand {index + 1}/{args.stack_samples}: {hand[-1]['total']}s")
    per_stack = p50([s["total"] for s in hand])
    say(f"makespan: the same {len(dag)}-stack DAG by hand on {slots} threads")
    by_hand_dag = hand_dag(dag, gitroot / "dag-by-hand", binary, env, slots)
    say(f"makespan: by hand {by_hand_dag['makespan_s']}s")

    repo = GitRepo(gitroot, "bench/dag")
    api.register(repo)
    before, after = repo.commit(files, f"{len(dag)}-stack layered DAG")
    say(f"makespan: pushing {len(dag)} stacks in {args.layers} layers on {slots} slots")
    noops_before = noop_tasks(services)
    ticks_before = cpu_ticks()
    delivery, sent = api.push(repo, before, after)
    event = api.wait_event(delivery)
    runs_now = [r for r in api.get("/api/v1/runs", limit=1000) if r["commit"]["sha"] == after]
    if not runs_now:
        raise BenchError(f"the push created no run: event detail {event['detail']!r}")
    pipeline_id = int(runs_now[0]["pipeline"])
    if len(runs_now) != len(dag):
        raise BenchError(
            f"pipeline {pipeline_id} has {len(runs_now)} runs, expected {len(dag)}: "
            f"{event['detail']!r}"
        )
    runs = wait_pipeline(api, pipeline_id, len(dag), max(args.poll, 0.1), services)
    observed = time.time() - sent
    machine_busy = busy_fraction(ticks_before, cpu_ticks())
    histories = {int(r["id"]): list(api.get(f"/api/v1/runs/{r['id']}")["history"]) for r in runs}
    by_state = count_states(runs)
    finished = [
        parse_at(h["at"])
        for history in histories.values()
        for h in history
        if h["to"] == "FINISHED"
    ]
    complete = by_state.get("FINISHED", 0) == len(dag)
    makespan = round(max(finished) - sent, 3) if complete else None
    result: dict[str, Any] = {
        "stacks": len(dag),
        "layers": args.layers,
        "width": args.width,
        "edges": sum(len(ups) for ups in dag.values()),
        "seed": args.seed,
        "longest_path_stacks": chain,
        "slots": slots,
        "pipeline": pipeline_id,
        "run_states": by_state,
        "makespan_s": makespan,
        "observed_by_poll_s": round(observed, 3),
        "one_stack_by_hand": {
            "stack": sample_path,
            "p50_s": per_stack,
            "steps_p50_s": steps_p50(hand),
            "samples": hand,
        },
        "bound_by_hand": lower_bound(per_stack, chain, len(dag), slots, makespan),
        "dag_by_hand": {
            **by_hand_dag,
            "ratio": round(makespan / by_hand_dag["makespan_s"], 3) if makespan else None,
        },
        "bound_sleep_only": lower_bound(APPLY_SLEEP_S, chain, len(dag), slots, makespan),
        "target": MAKESPAN_TARGET,
        "timeline": timeline(runs, histories, sent),
        "noop_tasks": noop_tasks(services) - noops_before,
        "machine_cpu_busy_during_pipeline": machine_busy,
        "inputs": check_inputs(api, repo.name, dag),
    }
    if not complete:
        bad = [r for r in runs if r["state"] != "FINISHED"]
        failed = [r for r in bad if r["state"] == "FAILED"][:3]
        result["not_finished"] = [
            {"stack": r["stack"], "state": r["state"], "reason": r["failure_reason"]}
            for r in bad[:10]
        ]
        result["failed_run_logs"] = {r["stack"]: api.run_log_tail(int(r["id"])) for r in failed}
        raise PartialResult(
            f"pipeline {pipeline_id}: {by_state} (expected {len(dag)} FINISHED)"
            + worker_errors(services),
            result,
        )
    return result


class PartialResult(BenchError):
    """A measurement ran to its end but the product did not do all of the work."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


# ---------------------------------------------------------------- output


def print_table(report: dict[str, Any]) -> None:
    deployment, meta = report["deployment"], report["meta"]
    print(f"deployment: {deployment['description']}")
    print(
        f"  workers: {deployment['workers']} x `worker --concurrency "
        f"{deployment['concurrency']}` = {deployment['slots']} slots; {meta['cpus']} CPUs, "
        f"load average {meta['loadavg_1m_at_start']} at start, {meta['loadavg_1m_at_end']} at end"
    )
    if deployment["workers"] > 1 and not deployment.get("distinct_worker_names"):
        print("  note: the workers share one Celery node name (`worker` has no --name option)")
    overhead = report.get("overhead")
    if overhead:
        o, h = overhead["orchestrated"], overhead["by_hand"]
        print(f"\norchestration overhead ({overhead['stack']}, {overhead['pushes']} pushes)")
        print(
            f"  webhook → FINISHED p50 / max   {o['p50_s']:.3f} / {o['max_s']:.3f} s"
            f"   (seen by polling: p50 {o['observed_by_poll_p50_s']:.3f} s)"
        )
        for label, value in o["phases_p50_s"].items():
            print(f"    {label:<30} {value:.3f} s")
        steps = ", ".join(f"{k} {v:.2f}" for k, v in h["steps_p50_s"].items() if k != "total")
        print(f"  by hand p50 / max              {h['p50_s']:.3f} / {h['max_s']:.3f} s ({steps})")
        print(
            f"  ratio (p50 ÷ p50)              {overhead['ratio_p50']:.3f}"
            f"   target ≤ {overhead['target']}"
        )
    makespan = report.get("makespan")
    if makespan:
        m, one = makespan, makespan["one_stack_by_hand"]
        print(
            f"\nmakespan: {m['stacks']} stacks, {m['layers']} layers x {m['width']}, "
            f"{m['edges']} input edges, longest path {m['longest_path_stacks']} stacks, "
            f"{m['slots']} slots"
        )
        shown = "n/a" if m["makespan_s"] is None else f"{m['makespan_s']:.3f} s"
        print(f"  first webhook → last FINISHED  {shown}   (runs: {m['run_states']})")
        cpu = one["steps_p50_s"]["cpu"]
        print(f"  one stack by hand p50          {one['p50_s']:.3f} s (cpu {cpu} s)")
        for label, key in (
            ("per stack = by hand", "bound_by_hand"),
            ("per stack = 2 s", "bound_sleep_only"),
        ):
            b = m[key]
            ratio = "n/a" if b["ratio"] is None else f"{b['ratio']:.3f}"
            print(
                f"  bound, {label:<20} max(cp {b['critical_path_s']:.1f}, work "
                f"{b['work_over_slots_s']:.1f}) = {b['bound_s']:.1f} s [{b['binds']}]"
                f"  ratio {ratio}  target ≤ {m['target']}"
            )
        d = m["dag_by_hand"]
        ratio = "n/a" if d["ratio"] is None else f"{d['ratio']:.3f}"
        print(
            f"  same DAG by hand, {d['slots']} threads, zero-overhead scheduler: "
            f"{d['makespan_s']:.3f} s  ratio {ratio}"
        )
        t = m["timeline"]
        used = t["slot_seconds_total"] / (m["slots"] * m["makespan_s"]) if m["makespan_s"] else 0
        print(
            f"  timeline: first run created {t['first_run_created_s']} s, first claim "
            f"{t['first_claim_s']} s; per run in a slot p50 {t['run_in_slot_p50_s']} s (init "
            f"{t['init_p50_s']}, plan {t['plan_task_after_init_p50_s']}, apply task "
            f"{t['apply_task_p50_s']}); {t['slot_seconds_total']} slot-seconds "
            f"({used:.0%} of slots x makespan)"
        )
        print(
            f"  waits: eligible→claimed p50 {t['eligible_to_claimed_p50_s']} / max "
            f"{t['eligible_to_claimed_max_s']} s, CONFIRMED→APPLYING p50 "
            f"{t['confirmed_to_applying_p50_s']} / max {t['confirmed_to_applying_max_s']} s; "
            f"peak concurrent tasks {t['peak_concurrent_tasks']}; no-op tasks "
            f"{m['noop_tasks']}"
        )
        busy = m["machine_cpu_busy_during_pipeline"]
        if busy is not None:
            print(f"  machine CPU busy during the pipeline: {busy:.0%} of {meta['cpus']} cores")
        print(f"  layers finished at (s): {t['layer_last_finished_s']}")
        i = m["inputs"]
        print(
            f"  outputs as inputs: {i['received_upstream_ids']}/{i['downstream_stacks']} "
            f"downstream stacks got their upstream ids ({i['received_empty_values']} got empty "
            "values)"
        )
    for failure in report["failures"]:
        print(f"\n{failure['part']}: FAILED: {failure['error']}")


# ---------------------------------------------------------------- main


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "meta": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "terraform": resolve_terraform("terraform"),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
            "args": {k: v for k, v in vars(args).items() if k not in {"json", "keep"}},
        },
        "failures": [],
    }
    tf_dir = workdir / "terraform"
    tf_dir.mkdir()
    tf_cli_config = offline_cli_config(tf_dir)
    if tf_cli_config is None:
        raise BenchError("the null provider is not installed: pip install -e '.[dev]'")
    gitroot = workdir / "git"
    gitroot.mkdir()
    port = free_port()
    services = Services(
        f"http://{HOST}:{port}", service_env(workdir, port, tf_cli_config, args.sandbox), workdir
    )
    with postgres_and_redis(args.redis_db, args.redis_port) as (
        database_url,
        broker_url,
        description,
    ):
        report["deployment"] = {
            "description": description,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "slots": args.workers * args.concurrency,
            "workdir": str(workdir),
        }
        try:
            say(f"starting API + {args.workers} worker(s) on {description}")
            start_services(services, database_url, broker_url, args.workers, args.concurrency)
            token = cli(services.env, "tokens", "create", "--name", "bench", "--role", "admin")
            api = Api(services.url, token.strip().splitlines()[-1])
            try:
                parts: list[tuple[str, Callable[[], dict[str, Any]]]] = []
                if args.only in (None, "overhead"):
                    parts.append(
                        (
                            "overhead",
                            lambda: measure_overhead(
                                api, gitroot, tf_cli_config, args.pushes, args.poll
                            ),
                        )
                    )
                if args.only in (None, "makespan"):
                    parts.append(
                        (
                            "makespan",
                            lambda: measure_makespan(api, services, gitroot, tf_cli_config, args),
                        )
                    )
                for name, measure in parts:
                    try:
                        report[name] = measure()
                    except PartialResult as exc:
                        report[name] = exc.result
                        report["failures"].append({"part": name, "error": str(exc)})
                    except (BenchError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
                        traceback.print_exc()
                        report["failures"].append(
                            {"part": name, "error": f"{type(exc).__name__}: {exc}"}
                        )
            finally:
                api.close()
        finally:
            stop_services(services)
            report["deployment"]["distinct_worker_names"] = services.named_workers
            report["worker_log_warnings"] = [
                f"{p.name}: {line}" for p in services.worker_logs() for line in log_errors(p, 5)
            ]
    report["meta"]["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=5, help="K measured pushes (overhead)")
    parser.add_argument("--layers", type=int, default=5, help="DAG layers (makespan)")
    parser.add_argument("--width", type=int, default=6, help="stacks per layer (makespan)")
    parser.add_argument("--seed", type=int, default=1, help="DAG edges seed")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="slots per worker process")
    parser.add_argument("--stack-samples", type=int, default=3, help="hand runs of one DAG stack")
    parser.add_argument(
        "--poll",
        type=float,
        default=0.25,
        help="API poll interval (s); the figures come from the runs' history, so polling only "
        "adds load: 0.02 s (50 requests/s) takes CPU the measured runs need on a small machine",
    )
    parser.add_argument("--redis-db", type=int, default=12, help="Redis db, flushed")
    parser.add_argument("--redis-port", type=int, default=6379, help="Redis on 127.0.0.1")
    parser.add_argument("--only", choices=["overhead", "makespan"], help="one measurement only")
    parser.add_argument(
        "--sandbox",
        choices=["auto", "bwrap", "none"],
        default="auto",
        help="STACKRUN_SANDBOX of the workers (the cost of bubblewrap: bwrap vs none)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if min(args.pushes, args.layers, args.width, args.workers, args.concurrency) < 1:
        parser.error("--pushes, --layers, --width, --workers and --concurrency must be ≥ 1")
    if args.stack_samples < 1 or not 0.005 <= args.poll <= 5:
        parser.error("--stack-samples must be ≥ 1 and --poll within 0.005-5 s")

    def terminate(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds through every finally: processes, Redis, database

    signal.signal(signal.SIGTERM, terminate)
    workdir = Path(tempfile.mkdtemp(prefix="stackrun-bench-pipelines-"))
    report: dict[str, Any] = {"failures": []}
    try:
        report = run(args, workdir)
    except BenchError as exc:
        report["failures"].append({"part": "setup", "error": str(exc)})
    except KeyboardInterrupt:
        report["failures"].append({"part": "run", "error": "interrupted"})
        say("interrupted: processes stopped, Redis db flushed, database dropped")
    finally:
        keep = args.keep or bool(report["failures"])
        if keep:
            say(f"kept {workdir} (api.log, worker-*.log, data/)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    elif "deployment" in report:
        print_table(report)
    else:
        for failure in report["failures"]:
            print(f"{failure['part']}: FAILED: {failure['error']}")
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
