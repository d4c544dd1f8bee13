"""Thin Celery tasks: take an id, call one function, hold no business rules."""

from __future__ import annotations

from orchestrator import worker_api
from workers import execute
from workers.celery_app import app


@app.task(name="stackrun.process_push")
def process_push(event_id: int) -> None:
    """Process the waiting pushes; plan the first run they start when it was claimed here."""
    taken = worker_api.process_push(event_id)
    if taken is not None:
        execute.plan_claimed(taken)


@app.task(name="stackrun.plan_run", acks_late=True)
def plan_run(run_id: int) -> None:
    execute.plan_run(run_id)


@app.task(name="stackrun.apply_run", acks_late=False)
def apply_run(run_id: int) -> None:
    execute.apply_run(run_id)


@app.task(name="stackrun.advance_pipeline")
def advance_pipeline(pipeline_id: int) -> None:
    worker_api.advance_pipeline(pipeline_id)


@app.task(name="stackrun.handoff")
def handoff_task(handoff_id: int) -> None:
    """Publish a finished platform to its GitOps repository and Argo CD."""
    worker_api.handoff_platform(handoff_id)


@app.task(name="stackrun.drift_tick")
def drift_tick() -> None:
    """Start the drift checks due this minute, their runs spread over the minute."""
    worker_api.drift_tick()


@app.task(name="stackrun.dispatch_drift")
def dispatch_drift(*check_ids: int) -> None:
    """Create and ring the drift runs of one second of a tick's spread."""
    worker_api.dispatch_drift(list(check_ids))


@app.task(name="stackrun.boundary_check")
def boundary_check() -> None:
    """Read every handed-off platform's Argo CD applications for boundary findings."""
    worker_api.boundary_check()


@app.task(name="stackrun.deliver_notifications")
def deliver_notifications() -> None:
    worker_api.deliver_notifications()


@app.task(name="stackrun.deliver_reports")
def deliver_reports() -> None:
    """Commit statuses and pull request comments of proposed pipelines that changed."""
    worker_api.deliver_reports()


@app.task(name="stackrun.reap")
def reap() -> None:
    """Fail lost applies and re-ring runs whose doorbell went unanswered."""
    worker_api.reap()
