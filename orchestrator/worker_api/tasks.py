"""The orchestrator's side of the Celery tasks that are not a run's procedure: a push, a
pipeline's advance, a hand-off, the drift tick, deliveries and the reaper. Each opens its own
sessions and rings the doorbells it decided on once they are committed."""

from __future__ import annotations

import logging

from orchestrator import upkeep
from orchestrator.boundary import check as boundary
from orchestrator.db import session_scope
from orchestrator.drift import dispatch
from orchestrator.drift import service as drift
from orchestrator.handoff import service as handoff
from orchestrator.models import utcnow
from orchestrator.notifications import service as notifications
from orchestrator.reports import service as reports
from orchestrator.runs import advance, bursts, pushes
from orchestrator.runs.queue import ring, ring_all
from orchestrator.settings import get_settings
from orchestrator.worker_api import claim
from orchestrator.worker_api.inputs import RunInputs

log = logging.getLogger(__name__)


def process_push(event_id: int) -> RunInputs | None:
    """The pushes of the event's repository that wait become pipelines (a chain of pushes to
    the tracked branch one pipeline, runs/bursts.py); older runs they supersede end, their
    first runs start. A step that fails stays claimed: the reaper tries it again.

    The first run of the last pipeline is claimed in its push's transaction and returned for
    this worker to plan at once (claim.first_run); the others are rung."""
    while True:
        with session_scope() as session:
            steps = bursts.claim(session, event_id)
        if not steps:
            log.info("event=%s task=process_push noop: already claimed", event_id)
            return None
        last = sum(1 + len(step.stands_for) for step in steps) < bursts.BURST_LIMIT
        taken = _process(steps, take_first_run=last)
        if last:
            _ring_for_late_pushes(event_id)
            return taken


def _ring_for_late_pushes(event_id: int) -> None:
    """A push stored while this task's claim ran, which the claim could not see, and whose
    doorbell the intake held back (the push it had rung for still looked waiting): rung now,
    so that it does not wait for the reaper."""
    with session_scope() as session:
        late = bursts.first_waiting(session, event_id)
    if late is not None:
        log.info("event=%s task=process_push: push %s arrived during the claim", event_id, late)
        ring("process_push", late)


def _process(steps: list[bursts.Step], take_first_run: bool) -> RunInputs | None:
    taken: RunInputs | None = None
    for step in steps:
        first: RunInputs | None = None
        try:
            with session_scope() as session:
                handled = pushes.handle(session, step.event_id, step.since)
                bursts.settle(session, step)
                bells = handled.bells
                if take_first_run and step is steps[-1]:
                    lease = get_settings().lease_seconds
                    first, bells = claim.first_run(session, handled, lease)
        except Exception:  # the claim, if any, rolled back with the push: nothing to plan
            log.exception(
                "event=%s processing the push failed; the reaper retries it", step.event_id
            )
            continue
        taken = first or taken  # committed: the claim is this worker's
        ring_all(bells)
    return taken


def advance_pipeline(pipeline_id: int) -> None:
    with session_scope() as session:
        bells = advance.advance_pipeline(session, pipeline_id)
    ring_all(bells)


def handoff_platform(handoff_id: int) -> None:
    """Publish a finished platform to its GitOps repository and Argo CD."""
    handoff.perform(handoff_id, get_settings())
    boundary.after_handoff(handoff_id, get_settings())


def boundary_check() -> None:
    """Beat's check of every handed-off platform's Argo CD applications."""
    boundary.check_all(get_settings())


def drift_tick() -> None:
    """Claim the drift checks due this minute (committed: nothing claimed is lost), create the
    runs of checks whose batch never came, and send one message per second of the spread
    that creates and rings that second's runs (`dispatch_drift`)."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        started = drift.tick(session, now, settings.drift_spread_seconds)
    with session_scope() as session:
        late = dispatch.overdue(session, now, settings.drift_spread_seconds)
    ring_all(late)
    for delay, check_ids in dispatch.batches((s.check_id, s.delay) for s in started):
        ring("dispatch_drift", *check_ids, delay=delay)


def dispatch_drift(check_ids: list[int]) -> None:
    """Create and ring the drift runs of one second of a tick's spread."""
    with session_scope() as session:
        bells = dispatch.dispatch(session, check_ids)
    ring_all(bells)
    if bells:
        log.info("task=dispatch_drift created=%d checks=%d", len(bells), len(check_ids))


def deliver_notifications() -> None:
    settings = get_settings()
    notifications.deliver_due(
        session_scope, settings.notify_backoff_seconds, settings.notify_max_attempts
    )


def deliver_reports() -> None:
    """Commit statuses and pull request comments of proposed pipelines that changed."""
    reports.deliver_due(session_scope, get_settings())


def reap() -> None:
    """Fail lost applies and re-ring runs whose doorbell went unanswered."""
    with session_scope() as session:
        bells = upkeep.reap(session)
    ring_all(bells)
