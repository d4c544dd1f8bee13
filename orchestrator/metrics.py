"""Prometheus metrics read from the database at scrape time, so every process agrees."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from orchestrator.db import session_scope
from orchestrator.models import Run
from orchestrator.runstate import RunState

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)
RECENT_RUNS = 1000


class RunCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        with session_scope() as session:
            rows = session.execute(select(Run.state, func.count()).group_by(Run.state)).all()
            counts: dict[str, int] = {state: count for state, count in rows}
            recent = session.execute(
                select(Run.created_at, Run.finished_at)
                .where(Run.finished_at.is_not(None))
                .order_by(Run.id.desc())
                .limit(RECENT_RUNS)
            ).all()
            durations = [
                (done - created).total_seconds() for created, done in recent if done is not None
            ]
        by_state = GaugeMetricFamily("stackrun_runs", "Runs by state", labels=["state"])
        for state in RunState:
            by_state.add_metric([state.value], counts.get(state.value, 0))
        yield by_state
        yield GaugeMetricFamily(
            "stackrun_queue_depth",
            "Runs waiting for a worker (QUEUED or CONFIRMED)",
            value=counts.get(RunState.QUEUED, 0) + counts.get(RunState.CONFIRMED, 0),
        )
        yield _histogram(durations)


def _histogram(durations: list[float]) -> HistogramMetricFamily:
    buckets: list[tuple[str, float]] = []
    for bound in DURATION_BUCKETS:
        buckets.append((str(bound), float(sum(1 for d in durations if d <= bound))))
    buckets.append(("+Inf", float(len(durations))))
    return HistogramMetricFamily(
        "stackrun_run_duration_seconds",
        f"Wall time from creation to a terminal state, last {RECENT_RUNS} runs",
        buckets=buckets,
        sum_value=sum(durations),
    )


REGISTRY = CollectorRegistry()
REGISTRY.register(RunCollector())
