"""Who hears what runs publish (`runs/events.py`): installed once by every process that
changes runs (the API app, the Celery app of workers and beat) before its first transition."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orchestrator.boundary import index as boundary_index
from orchestrator.drift import service as drift
from orchestrator.handoff import trigger
from orchestrator.models import Stack
from orchestrator.notifications import messages
from orchestrator.notifications import service as notifications
from orchestrator.reports.due import mark_due
from orchestrator.runs import events
from orchestrator.runs.events import PipelineChanged, RunChanged, RunEnded
from orchestrator.runs.queue import Doorbell
from orchestrator.runstate import RunKind, RunState


def notify(session: Session, event: RunChanged) -> list[Doorbell]:
    """A notification for every target that wants this kind of change."""
    run = event.run
    if messages.run_event(run.state, run.kind) is not None:
        stack = session.get(Stack, run.stack_id)
        notifications.run_changed(session, run, stack.repository_id if stack else None)
    return []


def report_run(session: Session, event: RunChanged) -> list[Doorbell]:
    """A proposed run that changed makes its pipeline's VCS report due."""
    if event.run.kind == RunKind.PROPOSED and event.run.pipeline_id is not None:
        mark_due(session, event.run.pipeline_id)
    return []


def report_pipeline(session: Session, event: PipelineChanged) -> list[Doorbell]:
    mark_due(session, event.pipeline_id)
    return []


def record_drift_plan(session: Session, event: RunChanged) -> list[Doorbell]:
    """A drift check's plan is recorded (and drift announced) as it finishes."""
    run = event.run
    if run.kind == RunKind.DRIFT and event.target == RunState.FINISHED:
        drift.record_plan(session, run, list(run.resource_changes or []))
    return []


def record_drift_end(session: Session, event: RunEnded) -> list[Doorbell]:
    if event.run.kind == RunKind.DRIFT:
        drift.record_end(session, event.run)
    return []


def index_boundary(session: Session, event: RunEnded) -> list[Doorbell]:
    """A tracked run that finished re-reads its stack into the ownership index."""
    if event.run.kind == RunKind.TRACKED and event.run.state == RunState.FINISHED:
        boundary_index.on_run_finished(session, event.run.stack_id)
    return []


def install() -> None:
    """Subscribe every package to the events it acts on; calling it again changes nothing."""
    events.subscribe(RunChanged, record_drift_plan)
    events.subscribe(RunChanged, notify)
    events.subscribe(RunChanged, report_run)
    events.subscribe(PipelineChanged, report_pipeline)
    events.subscribe(RunEnded, record_drift_end)
    events.subscribe(RunEnded, trigger.on_run_ended)
    events.subscribe(RunEnded, index_boundary)
