"""A worker claims a run under a lease: for a plan once its upstreams finished and its stack
is free, for an apply once it is confirmed. Every step after that is a `move`."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import Run, Stack
from orchestrator.runs import advance, locks, outputs, service
from orchestrator.runs.queue import Doorbell
from orchestrator.runstate import APPLYING_KINDS, STATE_MOVING, Allowed, RunKind, RunState

log = logging.getLogger(__name__)
WORKER = "worker"


class RunMoved(Exception):
    """The run left the state this worker expected (stopped, discarded, or claimed elsewhere)."""


def move(
    session: Session, run_id: int, target: RunState, expect: RunState, reason: str, **fields: Any
) -> None:
    """A step of a worker procedure, writing `fields` with it; raises RunMoved when someone
    else changed the run."""
    decision = service.transition(
        session, run_id, target, actor=WORKER, reason=reason, expect=expect, **fields
    )
    if not isinstance(decision, Allowed):
        raise RunMoved(decision.reason)


def _older_locking_run_waits(session: Session, run: Run) -> bool:
    """State-changing runs of a stack start oldest first."""
    older = select(Run.id).where(
        Run.stack_id == run.stack_id,
        Run.state == RunState.QUEUED,
        Run.kind.in_(list(APPLYING_KINDS)),
        Run.id < run.id,
    )
    return session.scalar(older.limit(1)) is not None


def _drift_yields(session: Session, run: Run) -> bool:
    """A drift run never delays a state-changing run: it waits while one is queued for its
    stack, and is SKIPPED while one is confirmed or applying (the state is moving)."""
    waiting = select(Run.id).where(
        Run.stack_id == run.stack_id,
        Run.state == RunState.QUEUED,
        Run.kind.in_(list(APPLYING_KINDS)),
    )
    if session.scalar(waiting.limit(1)) is not None:
        log.info("run=%s waits: a tracked run of stack %s goes first", run.id, run.stack_id)
        return True
    stack = session.get(Stack, run.stack_id)
    holder = session.get(Run, stack.locked_by_run_id) if stack and stack.locked_by_run_id else None
    if holder is None or holder.state not in STATE_MOVING:
        return False
    service.transition(
        session,
        run.id,
        RunState.SKIPPED,
        actor=WORKER,
        reason=f"run {holder.id} is applying to the stack; the next slot checks again",
        expect=RunState.QUEUED,
        failure_reason=f"run {holder.id} was applying",
    )
    advance.ended(session, run)  # a drift run has no pipeline: nothing to ring
    return True


def claim_for_plan(session: Session, run_id: int, lease_seconds: int) -> Run | None:
    """QUEUED → PREPARING when upstreams finished and the stack lock is free; else None.

    The run row is locked first (runs, then stacks: the order every writer uses), and a
    refused transition gives the stack lock back in the same transaction."""
    run = session.get(Run, run_id, populate_existing=True, with_for_update=True)
    if run is None or run.state != RunState.QUEUED:
        return None
    if not advance.upstreams_done(session, run):
        return None
    if run.kind == RunKind.DRIFT and _drift_yields(session, run):
        return None
    takes_lock = RunKind(run.kind) in APPLYING_KINDS
    if takes_lock and _older_locking_run_waits(session, run):
        log.info("run=%s waits: an older run of stack %s goes first", run.id, run.stack_id)
        return None
    if takes_lock and not locks.acquire_stack_lock(session, run.stack_id, run.id):
        log.info("run=%s waits: stack %s is locked", run.id, run.stack_id)
        return None
    decision = service.transition(
        session,
        run.id,
        RunState.PREPARING,
        actor=WORKER,
        reason="claimed by a worker",
        expect=RunState.QUEUED,
        plan_attempts=run.plan_attempts + 1,
        **service.lease(WORKER, lease_seconds),
    )
    if not isinstance(decision, Allowed):
        locks.release_stack_lock(session, run.stack_id, run.id)
        return None
    return run


def _unchanged_since_last_finished(session: Session, run: Run) -> bool:
    stack = session.get(Stack, run.stack_id)
    if stack is None or stack.trigger_always or not stack.inputs:
        return False
    previous = session.scalar(
        select(Run.inputs_sha256)
        .where(
            Run.stack_id == run.stack_id,
            Run.state == RunState.FINISHED,
            Run.kind == RunKind.TRACKED,
            Run.inputs_sha256.is_not(None),
        )
        .order_by(Run.id.desc())
        .limit(1)
    )
    return previous is not None and previous == outputs.inputs_for(session, stack).digest


def skip_if_inputs_unchanged(session: Session, run_id: int) -> list[Doorbell] | None:
    """A run that exists only because an upstream changed, whose inputs are the same as at the
    stack's last finished run, is SKIPPED (unless the stack sets trigger_always)."""
    run = session.get(Run, run_id)  # current: a fresh session, or the push that created it
    if run is None or run.state != RunState.QUEUED:
        return None
    if not run.trigger_reason.startswith("downstream of"):
        return None
    if not advance.upstreams_done(session, run):
        return None
    if not _unchanged_since_last_finished(session, run):
        return None
    decision = service.transition(
        session,
        run_id,
        RunState.SKIPPED,
        actor="pipeline",
        expect=RunState.QUEUED,
        reason=f"{advance.INPUTS_UNCHANGED}: no change of its own and the same upstream outputs",
    )
    return advance.finished(session, run) if isinstance(decision, Allowed) else None


def claim_for_apply(session: Session, run_id: int, lease_seconds: int) -> Run | None:
    run = session.get(Run, run_id, populate_existing=True, with_for_update=True)
    if run is None or run.state != RunState.CONFIRMED:
        return None
    decision = service.transition(
        session,
        run.id,
        RunState.APPLYING,
        actor=WORKER,
        reason="claimed by a worker",
        expect=RunState.CONFIRMED,
        **service.lease(WORKER, lease_seconds),
    )
    if not isinstance(decision, Allowed):
        return None
    return run
