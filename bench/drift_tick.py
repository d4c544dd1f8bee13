"""Drift tick cost of issue 6 on PostgreSQL: one `drift_tick` over --stacks stacks with mixed
schedules, and the spread of start times of --same-minute stacks due in the same minute.

Run: .venv/bin/python bench/drift_tick.py [--stacks 10000] [--same-minute 1000] [--repeat 3]

A fresh database (CREATEd, DROPped at the end) migrated to head; --stacks stacks spread over
twelve cron schedules (every 5 minutes, hourly, twice an hour, every 6 hours, daily, weekly…),
nine in ten applied (so a due stack gets a DRIFT run, the rest a skipped check). For each of
two ticks, a quiet minute (12:07, few stacks due) and a busy one (12:00, hourly schedules
due), the tick is timed on a copy of the same starting rows (the tick's transaction is rolled
back between repeats) next to the baseline of reading the same stack rows. Then --same-minute
stacks on `0 * * * *` are ticked at 13:00 and the start delays the tick gives them are
summarised (what `drift_spread_seconds`, 45 s by default, spreads them over). Only 127.0.0.1
is contacted; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from orchestrator.drift import dispatch
from orchestrator.drift import service as drift
from orchestrator.migrate import upgrade
from orchestrator.models import Repository, Stack, StackOutputs

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SCHEDULES = [
    "*/5 * * * *",
    "*/15 * * * *",
    "0 * * * *",
    "0,30 * * * *",
    "7 * * * *",
    "0 */6 * * *",
    "30 2 * * *",
    "0 3 * * 1",
    "*/10 9-17 * * 1-5",
    "45 * * * *",
    "0 0 1 * *",
    "20 4 * * *",
]
QUIET = datetime(2026, 11, 30, 12, 7, 20, tzinfo=UTC)
BUSY = datetime(2026, 11, 30, 12, 0, 20, tzinfo=UTC)
SAME_MINUTE = datetime(2026, 11, 30, 13, 0, 20, tzinfo=UTC)


@contextlib.contextmanager
def database() -> Iterator[str]:
    name = f"stackrun_bench_drift_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(
    engine: Engine, stacks: int, prefix: str, schedules: list[str], never_applied_every: int = 10
) -> None:
    with Session(engine) as session:
        if session.get(Repository, 1) is None:
            session.add(
                Repository(
                    id=1,
                    name="bench/drift",
                    clone_url="file:///x",
                    branch="main",
                    provider="github",
                    webhook_secret_enc=b"x",
                )
            )
            session.flush()
        rows = [
            {
                "id": f"bench/drift/{prefix}{i}",
                "repository_id": 1,
                "path": f"{prefix}{i}",
                "name": f"{prefix}{i}",
                "labels": [],
                "depends_on": [],
                "drift_schedules": [schedules[i % len(schedules)]],
            }
            for i in range(stacks)
        ]
        session.execute(insert(Stack), rows)
        outputs = [
            {
                "stack_id": row["id"],
                "run_id": 0,
                "commit_sha": "c" * 40,
                "plain": {},
                "sensitive_names": [],
            }
            for n, row in enumerate(rows)
            if not never_applied_every or n % never_applied_every
        ]
        session.execute(insert(StackOutputs), outputs)
        session.commit()


def analyze(url: str) -> None:
    """Statistics of the seeded stacks, as autovacuum keeps them on a live database: without
    them the planner takes 100,000 stacks for a few thousand and hashes every stack and
    output for each batch of a thousand runs. The runs and checks are left as on a new
    install (never analyzed)."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute("ANALYZE stacks, stack_outputs, repositories")


def timed_tick(engine: Engine, now: datetime, repeat: int) -> dict[str, float | int]:
    """p50 seconds of a tick (its claim, then the look for overdue checks the beat's task
    makes), of creating its runs batch by batch (the work spread over the minute), and of
    reading the stack rows alone; each tick rolled back."""
    ticks: list[float] = []
    batches: list[float] = []
    reads: list[float] = []
    started = 0
    for _ in range(repeat):
        with Session(engine) as session:
            begin = time.perf_counter()
            session.execute(
                select(Stack.id, Stack.drift_schedules, Stack.drift_override, Stack.drift_status)
            ).all()
            reads.append(time.perf_counter() - begin)
        with Session(engine) as session:
            begin = time.perf_counter()
            claimed = drift.tick(session, now, 45.0)
            dispatch.overdue(session, now, 45.0)
            session.flush()
            ticks.append(time.perf_counter() - begin)
            begin = time.perf_counter()
            for _delay, check_ids in dispatch.batches((s.check_id, s.delay) for s in claimed):
                started += len(dispatch.dispatch(session, check_ids))
            batches.append(time.perf_counter() - begin)
            session.rollback()
    tick, read = statistics.median(ticks), statistics.median(reads)
    return {
        "tick_s": round(tick, 3),
        "batches_s": round(statistics.median(batches), 3),
        "read_s": round(read, 3),
        "ratio": round(tick / read, 1),
        "runs_started": started // repeat,
    }


def spread(engine: Engine, stacks: int) -> dict[str, float | int]:
    seed(engine, stacks, "same", ["0 13 * * *"], never_applied_every=0)
    with Session(engine) as session:
        started = drift.tick(session, SAME_MINUTE, 45.0)
        delays = sorted(s.delay for s in started if s.stack_id.startswith("bench/drift/same"))
        session.rollback()
    per_second = Counter(int(d) for d in delays)
    return {
        "stacks": len(delays),
        "first_s": round(delays[0], 2),
        "last_s": round(delays[-1], 2),
        "p50_s": round(statistics.median(delays), 2),
        "most_in_one_second": max(per_second.values()),
        "even_share_per_second": round(len(delays) / 45, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stacks", type=int, default=10_000)
    parser.add_argument("--same-minute", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with database() as url:
        upgrade(url)
        engine = create_engine(url)
        seed(engine, args.stacks, "s", SCHEDULES)
        analyze(url)
        print(f"drift_tick over {args.stacks} stacks, {len(SCHEDULES)} schedules, PostgreSQL")
        for label, now in (("quiet minute 12:07", QUIET), ("busy minute 12:00", BUSY)):
            result = timed_tick(engine, now, args.repeat)
            print(
                f"  {label}: tick p50 {result['tick_s']:.3f} s ({result['runs_started']} drift "
                f"runs claimed); reading the stack rows alone {result['read_s']:.3f} s "
                f"(tick ÷ read {result['ratio']}); creating the runs in their batches, "
                f"spread over the minute: {result['batches_s']:.3f} s in all"
            )
        s = spread(engine, args.same_minute)
        print(
            f"start spread, {s['stacks']} stacks due at 13:00: first +{s['first_s']} s, "
            f"median +{s['p50_s']} s, last +{s['last_s']} s; at most {s['most_in_one_second']} "
            f"start in one second (an even spread: {s['even_share_per_second']})"
        )
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
