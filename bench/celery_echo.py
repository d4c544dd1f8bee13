"""A Celery app that does nothing but answer: the Celery round-trip baseline of bench/latency.py.

The task pushes the time it ran onto a Redis list the bench waits on (BLPOP). Configured as
stackrun's workers are (JSON, prefetch 1, early ack); BENCH_ECHO_BROKER names the broker."""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

BROKER = os.environ.get("BENCH_ECHO_BROKER", "redis://127.0.0.1:6379/14")
app = Celery("bench-echo", broker=BROKER)
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    task_default_queue="bench_echo",
    worker_hijack_root_logger=False,
)


@app.task(name="bench.echo")
def echo(key: str) -> None:
    client = redis.Redis.from_url(BROKER)
    client.rpush(key, repr(time.time()))
