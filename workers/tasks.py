"""Thin Celery tasks: take an id, call the procedure, hold no business rules."""

from __future__ import annotations

import logging

from orchestrator import upkeep
from orchestrator.db import session_scope
from orchestrator.drift import service as drift
from orchestrator.handoff import service as handoff
from orchestrator.models import utcnow
from orchestrator.notifications import service as notifications
from orchestrator.reports import service as reports
from orchestrator.runs import advance, pushes
from orchestrator.runs.queue import Doorbell, ring_all
from orchestrator.settings import get_settings
from workers import execute
from workers.celery_app import app

log = logging.getLogger(__name__)


@app.task(name="stackrun.process_push")
def process_push(event_id: int) -> None:
    with session_scope() as session:
        claimed = pushes.claim_event(session, event_id)
    if not claimed:
        log.info("event=%s task=process_push noop: already claimed", event_id)
        return
    with session_scope() as session:
        bells = pushes.handle(session, event_id)
    ring_all(bells)


@app.task(name="stackrun.plan_run", acks_late=True)
def plan_run(run_id: int) -> None:
    execute.plan_run(run_id)


@app.task(name="stackrun.apply_run", acks_late=False)
def apply_run(run_id: int) -> None:
    execute.apply_run(run_id)


@app.task(name="stackrun.advance_pipeline")
def advance_pipeline(pipeline_id: int) -> None:
    with session_scope() as session:
        bells = advance.advance_pipeline(session, pipeline_id)
    ring_all(bells)


@app.task(name="stackrun.handoff")
def handoff_task(handoff_id: int) -> None:
    """Publish a finished platform to its GitOps repository and Argo CD."""
    handoff.perform(handoff_id, get_settings())


@app.task(name="stackrun.drift_tick")
def drift_tick() -> None:
    """Start the drift checks due this minute, their runs spread over the minute."""
    settings = get_settings()
    with session_scope() as session:
        started = drift.tick(session, utcnow(), settings.drift_spread_seconds)
    bells = [Doorbell("plan_run", s.run_id, s.queue, s.delay) for s in started]
    ring_all(bells)


@app.task(name="stackrun.deliver_notifications")
def deliver_notifications() -> None:
    settings = get_settings()
    notifications.deliver_due(
        session_scope, settings.notify_backoff_seconds, settings.notify_max_attempts
    )


@app.task(name="stackrun.deliver_reports")
def deliver_reports() -> None:
    """Commit statuses and pull request comments of proposed pipelines that changed."""
    reports.deliver_due(session_scope, get_settings())


@app.task(name="stackrun.reap")
def reap() -> None:
    """Fail lost applies and re-ring runs whose doorbell went unanswered."""
    with session_scope() as session:
        bells = upkeep.reap(session)
    ring_all(bells)
