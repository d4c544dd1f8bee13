"""The floors of push → first terraform, measured in the same run as it (bench/latency.py):

git fetch   `git fetch --prune origin` of a mirror after a one-commit push to its origin
            (what stackrun's mirror does for a new commit), over file://
celery      a task sent to an idle Celery worker on the same Redis until it ran: send_task →
            the task pushing onto a Redis list → the bench's BLPOP returns"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from common import percentile

BENCH_DIR = Path(__file__).resolve().parent


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def git_fetch_p50(workdir: Path, samples: int) -> float:
    """Seconds, p50: fetch of one new commit into a mirror clone."""
    origin, work, mirror = workdir / "origin.git", workdir / "work", workdir / "mirror.git"
    _git(workdir, "init", "--bare", "-b", "main", str(origin))
    _git(workdir, "clone", str(origin), str(work))
    _git(work, "config", "user.email", "bench@stackrun.invalid")
    _git(work, "config", "user.name", "bench")
    times: list[float] = []
    for index in range(samples + 1):
        (work / "NOTES.md").write_text(f"change {index}\n")
        _git(work, "add", "-A")
        _git(work, "commit", "-qm", f"change {index}")
        _git(work, "push", "-q", "origin", "HEAD:main")
        if index == 0:
            _git(workdir, "clone", "--mirror", f"file://{origin}", str(mirror))
            continue
        start = time.perf_counter()
        _git(mirror, "fetch", "--prune", "origin")
        times.append(time.perf_counter() - start)
    return percentile(times, 50)


def celery_round_trip_p50(broker: str, samples: int, workdir: Path) -> float:
    """Seconds, p50: send_task → the idle worker ran it (seen through a Redis list)."""
    import redis
    from celery import Celery

    env = dict(os.environ, BENCH_ECHO_BROKER=broker)
    log = (workdir / "celery-echo.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_echo", "worker", "--concurrency", "2"],
        cwd=BENCH_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    client = redis.Redis.from_url(broker)
    sender = Celery("bench-echo-sender", broker=broker, set_as_current=False)
    sender.conf.update(task_serializer="json", task_default_queue="bench_echo")
    try:
        times: list[float] = []
        for index in range(samples + 3):  # the first answers once the worker is up
            key = f"bench-echo-{uuid.uuid4().hex}"
            start = time.perf_counter()
            sender.send_task("bench.echo", args=[key])
            if client.blpop([key], timeout=60) is None:
                raise RuntimeError("the echo worker did not answer in 60 s")
            if index >= 3:
                times.append(time.perf_counter() - start)
        return percentile(times, 50)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        client.flushdb()
