"""The reaper: fails runs whose worker was lost (a plan is tried once more, an apply never),
and rings again for runs and pushes nobody answered. The broker is a doorbell (DESIGN §6)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.models import Event, Run, utcnow
from orchestrator.runs import advance, service
from orchestrator.runs.queue import Doorbell, apply_bell, plan_bell
from orchestrator.runstate import AWAITING_WORKER, PLANNING_PHASE, Allowed, RunState

log = logging.getLogger(__name__)
REAPER = "reaper"
MAX_PLAN_ATTEMPTS = 2
PUSH_PROCESSING_TIMEOUT = 900
PUSH_ATTEMPTS = 3


def reap(session: Session, stale_after_seconds: int = 30) -> list[Doorbell]:
    """Fail APPLYING runs whose lease expired (never re-applied, stack stays locked, their
    pipeline goes on: downstream runs are SKIPPED); re-ring QUEUED and CONFIRMED runs nobody
    claimed and pushes nobody processed."""
    now = utcnow()
    stale = now - timedelta(seconds=stale_after_seconds)
    return (
        _lost_applies(session, now)
        + _lost_plans(session, now)
        + _unanswered_runs(session, stale)
        + _unprocessed_pushes(session, stale)
        + _retry_stuck_pushes(session, now - timedelta(seconds=PUSH_PROCESSING_TIMEOUT))
    )


def _lost_applies(session: Session, now: datetime) -> list[Doorbell]:
    bells: list[Doorbell] = []
    expired = select(Run).where(Run.state == RunState.APPLYING, Run.lease_expires_at < now)
    for run in list(session.scalars(expired)):
        decision = service.transition(
            session,
            run.id,
            RunState.FAILED,
            actor=REAPER,
            expect=RunState.APPLYING,
            reason="worker_lost: the apply lease expired; the stack stays locked until an "
            "admin unlocks it",
            failure_reason="worker_lost",
        )
        if isinstance(decision, Allowed):
            log.warning(
                "run=%s stack=%s failed worker_lost: its apply lease expired; the stack stays "
                "locked until an admin unlocks it",
                run.id,
                run.stack_id,
            )
            bells += advance.ended(session, run)
    return bells


def _lost_plans(session: Session, now: datetime) -> list[Doorbell]:
    bells: list[Doorbell] = []
    lost = select(Run).where(Run.state.in_(list(PLANNING_PHASE)), Run.lease_expires_at < now)
    for run in list(session.scalars(lost)):
        decision = service.transition(
            session,
            run.id,
            RunState.FAILED,
            actor=REAPER,
            expect=RunState(run.state),
            reason=f"worker_lost during {run.state}: the lease expired; a plan changes nothing, "
            "so the stack is free again and the run can be retried",
            failure_reason="worker_lost",
        )
        if isinstance(decision, Allowed):
            bells += _second_attempt(session, run)
            bells += advance.finished(session, run)
    return bells


def _second_attempt(session: Session, lost: Run) -> list[Doorbell]:
    """A plan whose worker was lost is planned once more (at most MAX_PLAN_ATTEMPTS in all);
    the downstream runs of the pipeline wait for the new attempt instead."""
    if lost.plan_attempts >= MAX_PLAN_ATTEMPTS:
        return []
    reason = f"attempt {lost.plan_attempts + 1} after run {lost.id} lost its worker"
    new = service.create_run(
        session, service.again(lost, lost.triggered_by, reason, in_pipeline=True), dedupe=False
    )
    if new is None:
        return []
    service.update_run_fields(session, new.id, plan_attempts=lost.plan_attempts)
    if lost.pipeline_id is not None:
        waiting = select(Run).where(Run.pipeline_id == lost.pipeline_id, Run.id != new.id)
        for downstream in session.scalars(waiting):
            ups = [int(u) for u in downstream.upstream_run_ids or []]
            if lost.id in ups:
                service.update_run_fields(
                    session,
                    downstream.id,
                    upstream_run_ids=[new.id if u == lost.id else u for u in ups],
                )
    return [plan_bell(session, new)]


def _unanswered_runs(session: Session, stale: datetime) -> list[Doorbell]:
    bells: list[Doorbell] = []
    waiting = select(Run).where(Run.state.in_(list(AWAITING_WORKER)), Run.updated_at < stale)
    for run in list(session.scalars(waiting)):
        if run.state == RunState.CONFIRMED:
            bells.append(apply_bell(session, run))
        elif advance.claimable_now(session, run):
            bells.append(plan_bell(session, run))
    return bells


def _unprocessed_pushes(session: Session, stale: datetime) -> list[Doorbell]:
    unprocessed = select(Event.id).where(Event.status == "received", Event.received_at < stale)
    return [Doorbell("process_push", event_id) for event_id in session.scalars(unprocessed)]


def _retry_stuck_pushes(session: Session, started_before: datetime) -> list[Doorbell]:
    """A push whose worker died mid-way is tried again, at most PUSH_ATTEMPTS times; counted
    from when a worker took it, so a push that waited long in a backlog is not taken from the
    worker processing it."""
    bells: list[Doorbell] = []
    taken = func.coalesce(Event.claimed_at, Event.received_at)
    stuck = select(Event).where(Event.status == "processing", taken < started_before)
    for event in session.scalars(stuck):
        if event.attempts >= PUSH_ATTEMPTS:
            event.status = "failed"
            event.detail = f"gave up after {event.attempts} attempts to process this push"
            event.processed_at = utcnow()
        else:
            event.status = "received"
            bells.append(Doorbell("process_push", event.id))
    return bells
