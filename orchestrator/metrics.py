"""Prometheus metrics. Run, policy and hand-off figures are read from the database at scrape
time, so every process agrees; webhook deliveries are counted by the API process that
answered them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.db import session_scope
from orchestrator.models import Handoff, PolicyEvaluation, Run, RunTransition
from orchestrator.runs.phases import PHASES, phase_seconds
from orchestrator.runstate import RunState

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)
RECENT_RUNS = 1000


class RunCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        with session_scope() as session:
            rows = session.execute(select(Run.state, func.count()).group_by(Run.state)).all()
            counts: dict[str, int] = {state: count for state, count in rows}
            phases = _recent_phases(session)
            policies = session.execute(
                select(PolicyEvaluation.type, PolicyEvaluation.result, func.count()).group_by(
                    PolicyEvaluation.type, PolicyEvaluation.result
                )
            ).all()
            handoffs = session.execute(
                select(Handoff.status, func.count()).group_by(Handoff.status)
            ).all()
        by_state = GaugeMetricFamily("stackrun_runs", "Runs by state", labels=["state"])
        for state in RunState:
            by_state.add_metric([state.value], counts.get(state.value, 0))
        yield by_state
        yield GaugeMetricFamily(
            "stackrun_queue_depth",
            "Runs waiting for a worker (QUEUED or CONFIRMED)",
            value=counts.get(RunState.QUEUED, 0) + counts.get(RunState.CONFIRMED, 0),
        )
        yield _histogram(phases)
        evaluations = CounterMetricFamily(
            "stackrun_policy_evaluations",
            "Policy evaluations by policy type and result",
            labels=["type", "result"],
        )
        for kind, result, count in policies:
            evaluations.add_metric([kind, result], count)
        yield evaluations
        attempts = GaugeMetricFamily(
            "stackrun_handoff_attempts", "Hand-off attempts by status", labels=["status"]
        )
        for status, count in handoffs:
            attempts.add_metric([status], count)
        yield attempts


def _recent_phases(session: Session) -> dict[str, list[float]]:
    """Seconds per phase of the last RECENT_RUNS ended runs, one value per run and phase."""
    recent = session.execute(
        select(Run.id, Run.created_at)
        .where(Run.finished_at.is_not(None))
        .order_by(Run.id.desc())
        .limit(RECENT_RUNS)
    ).all()
    created = {run_id: at for run_id, at in recent}
    history: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    if created:
        rows = session.execute(
            select(RunTransition.run_id, RunTransition.to_state, RunTransition.at)
            .where(RunTransition.run_id.in_(list(created)))
            .order_by(RunTransition.run_id, RunTransition.id)
        ).all()
        for run_id, to_state, at in rows:
            history[run_id].append((to_state, at))
    phases: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for run_id, at in created.items():
        for phase, seconds in phase_seconds(at, history[run_id]).items():
            phases[phase].append(seconds)
    return phases


def _histogram(phases: dict[str, list[float]]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "stackrun_run_phase_seconds",
        "Seconds a run spent waiting for a worker (queue), for a human (approval) and at "
        f"work (work), last {RECENT_RUNS} ended runs",
        labels=["phase"],
    )
    for phase in PHASES:
        durations = phases[phase]
        buckets = [
            (str(bound), float(sum(1 for d in durations if d <= bound)))
            for bound in DURATION_BUCKETS
        ]
        buckets.append(("+Inf", float(len(durations))))
        family.add_metric([phase], buckets, sum(durations))
    return family


REGISTRY = CollectorRegistry()
REGISTRY.register(RunCollector())
WEBHOOK_DELIVERIES = Counter(
    "stackrun_webhook_deliveries",
    "Webhook deliveries answered by this API process, by provider and outcome",
    ["provider", "outcome"],
    registry=REGISTRY,
)
_OUTCOMES = {202: "accepted", 401: "refused_signature", 413: "too_large", 422: "malformed"}


def count_delivery(provider: str, status: int, answer: str | None) -> None:
    """One delivery's outcome: accepted, duplicate, ignored, pong, refused_signature,
    too_large, malformed (or the HTTP status)."""
    outcome = answer if status == 200 and answer else _OUTCOMES.get(status, str(status))
    WEBHOOK_DELIVERIES.labels(provider, outcome).inc()
