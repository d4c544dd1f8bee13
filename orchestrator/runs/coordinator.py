"""What happens to runs around the workers: claims, results, follow-up doorbells."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from orchestrator import statestore
from orchestrator.drift import service as drift
from orchestrator.handoff import service as handoff
from orchestrator.models import Event, Pipeline, Run, RunTransition, Stack, utcnow
from orchestrator.reports.due import mark_due
from orchestrator.runs import outputs, pipeline, service
from orchestrator.runs.state import APPLYING_KINDS, Allowed, RunKind, RunState, is_terminal

log = logging.getLogger(__name__)
WORKER = "worker"


@dataclass(frozen=True)
class Doorbell:
    """A task to ring once the transaction that decided it has committed."""

    task: str
    target_id: int
    queue: str = "default"
    delay: float = 0.0
    priority: int = 0


class RunMoved(Exception):
    """The run left the state this worker expected (stopped, discarded, or claimed elsewhere)."""


def queue_for(session: Session, run: Run) -> str:
    stack = session.get(Stack, run.stack_id)
    return stack.worker_pool if stack else "default"


PROPOSED_PRIORITY = 6
"""Redis serves priority 0 (every other doorbell) before this: a tracked run waiting for a
worker goes before proposals that were queued earlier."""


def plan_bell(session: Session, run: Run) -> Doorbell:
    """The doorbell that makes a worker plan `run`, on its pool's queue."""
    priority = PROPOSED_PRIORITY if run.kind == RunKind.PROPOSED else 0
    return Doorbell("plan_run", run.id, queue_for(session, run), priority=priority)


INPUTS_UNCHANGED = "inputs unchanged"


def _effective(session: Session, states: dict[int, RunState]) -> dict[int, RunState]:
    """A run SKIPPED because nothing reached it changed counts as FINISHED for its
    downstreams; a run SKIPPED behind a failure still blocks them."""
    skipped = [i for i, s in states.items() if s == RunState.SKIPPED]
    if not skipped:
        return states
    unchanged = set(
        session.scalars(
            select(RunTransition.run_id).where(
                RunTransition.run_id.in_(skipped),
                RunTransition.to_state == RunState.SKIPPED,
                RunTransition.reason.startswith(INPUTS_UNCHANGED),
            )
        )
    )
    return {i: RunState.FINISHED if i in unchanged else s for i, s in states.items()}


def _upstream_states(session: Session, run: Run) -> dict[int, RunState]:
    ids = [int(i) for i in run.upstream_run_ids or []]
    if not ids:
        return {}
    rows = session.execute(select(Run.id, Run.state).where(Run.id.in_(ids)))
    return _effective(session, {row_id: RunState(state) for row_id, state in rows})


LOCKING_KINDS = APPLYING_KINDS


def _older_locking_run_waits(session: Session, run: Run) -> bool:
    """State-changing runs of a stack start oldest first."""
    older = select(Run.id).where(
        Run.stack_id == run.stack_id,
        Run.state == RunState.QUEUED,
        Run.kind.in_(list(LOCKING_KINDS)),
        Run.id < run.id,
    )
    return session.scalar(older.limit(1)) is not None


def _drift_yields(session: Session, run: Run) -> bool:
    """A drift run never delays a state-changing run: it waits while one is queued for its
    stack, and is SKIPPED while one is confirmed or applying (the state is moving)."""
    waiting = select(Run.id).where(
        Run.stack_id == run.stack_id,
        Run.state == RunState.QUEUED,
        Run.kind.in_(list(LOCKING_KINDS)),
    )
    if session.scalar(waiting.limit(1)) is not None:
        log.info("run=%s waits: a tracked run of stack %s goes first", run.id, run.stack_id)
        return True
    stack = session.get(Stack, run.stack_id)
    holder = session.get(Run, stack.locked_by_run_id) if stack and stack.locked_by_run_id else None
    if holder is None or holder.state not in (RunState.CONFIRMED, RunState.APPLYING):
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
    drift.record_end(session, run)
    return True


def claim_for_plan(session: Session, run_id: int, lease_seconds: int) -> Run | None:
    """QUEUED → PREPARING when upstreams finished and the stack lock is free; else None.

    The run row is locked first (runs, then stacks: the order every writer uses), and a
    refused transition gives the stack lock back in the same transaction."""
    run = session.get(Run, run_id, populate_existing=True, with_for_update=True)
    if run is None or run.state != RunState.QUEUED:
        return None
    if not pipeline.is_eligible(_upstream_states(session, run), run.upstream_run_ids):
        return None
    if run.kind == RunKind.DRIFT and _drift_yields(session, run):
        return None
    takes_lock = RunKind(run.kind) in LOCKING_KINDS
    if takes_lock and _older_locking_run_waits(session, run):
        log.info("run=%s waits: an older run of stack %s goes first", run.id, run.stack_id)
        return None
    if takes_lock and not service.acquire_stack_lock(session, run.stack_id, run.id):
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
    )
    if not isinstance(decision, Allowed):
        service.release_stack_lock(session, run.stack_id, run.id)
        return None
    service.renew_lease(session, run.id, WORKER, lease_seconds)
    return run


def skip_if_inputs_unchanged(session: Session, run_id: int) -> list[Doorbell] | None:
    """A run that exists only because an upstream changed, whose inputs are the same as at the
    stack's last finished run, is SKIPPED (unless the stack sets trigger_always)."""
    run = session.get(Run, run_id, populate_existing=True)
    if run is None or run.state != RunState.QUEUED:
        return None
    if not run.trigger_reason.startswith("downstream of"):
        return None
    if not pipeline.is_eligible(_upstream_states(session, run), run.upstream_run_ids):
        return None
    stack = session.get(Stack, run.stack_id)
    if stack is None or stack.trigger_always or not stack.inputs:
        return None
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
    if previous is None or previous != outputs.inputs_for(session, stack).digest:
        return None
    decision = service.transition(
        session,
        run_id,
        RunState.SKIPPED,
        actor="pipeline",
        expect=RunState.QUEUED,
        reason=f"{INPUTS_UNCHANGED}: no change of its own and the same upstream outputs",
    )
    return finished(session, run) if isinstance(decision, Allowed) else None


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
    )
    if not isinstance(decision, Allowed):
        return None
    service.renew_lease(session, run.id, WORKER, lease_seconds)
    return run


def move(session: Session, run_id: int, target: RunState, expect: RunState, reason: str) -> None:
    """A step of a worker procedure; raises RunMoved when someone else changed the run."""
    decision = service.transition(
        session, run_id, target, actor=WORKER, reason=reason, expect=expect
    )
    if not isinstance(decision, Allowed):
        raise RunMoved(decision.reason)


def plan_done(
    session: Session,
    run_id: int,
    summary: dict[str, int],
    changes: list[dict[str, Any]],
    plan_sha256: str,
    outputs: list[str] | None = None,
    needs_human: bool = False,
    approved: bool = True,
) -> list[Doorbell]:
    """Record the plan; no resource or output change → FINISHED, else approval or apply.
    Autodeploy applies only when no plan policy warned and the approval policies approve."""
    run = session.get(Run, run_id, populate_existing=True)
    assert run is not None
    service.update_run_fields(
        session, run_id, plan_summary=summary, resource_changes=changes, plan_sha256=plan_sha256
    )
    if run.kind == RunKind.DRIFT:
        drift.record_plan(session, run, changes)
        move(session, run_id, RunState.FINISHED, RunState.PLANNING, "drift check: plan only")
        return finished(session, run)
    if not any(summary.values()) and not outputs:
        move(session, run_id, RunState.FINISHED, RunState.PLANNING, "no changes")
        return finished(session, run)
    if RunKind(run.kind) not in APPLYING_KINDS:
        move(session, run_id, RunState.FINISHED, RunState.PLANNING, f"{run.kind} run: plan only")
        return finished(session, run)
    stack = session.get(Stack, run.stack_id)
    if stack is not None and stack.autodeploy and approved and not needs_human:
        move(session, run_id, RunState.CONFIRMED, RunState.PLANNING, "autodeploy")
        return [Doorbell("apply_run", run_id, queue_for(session, run))]
    why = "waiting for approval"
    if stack is not None and stack.autodeploy:
        why += ": a plan policy warned" if needs_human else ": approval policies did not approve"
    move(session, run_id, RunState.UNCONFIRMED, RunState.PLANNING, why)
    return []


def fail(session: Session, run_id: int, reason: str) -> list[Doorbell]:
    run = session.get(Run, run_id, populate_existing=True)
    if run is None or is_terminal(RunState(run.state)):
        return []
    decision = service.transition(
        session, run_id, RunState.FAILED, actor=WORKER, reason=reason, failure_reason=reason
    )
    if not isinstance(decision, Allowed):
        log.warning("run=%s could not be failed: %s", run_id, decision.reason)
        return []
    return finished(session, run)


def state_not_saved(session: Session, run_id: int, reason: str, artifact: str) -> list[Doorbell]:
    """An apply whose state terraform could not save (it is kept as `artifact`): the run
    fails, the stack stays locked and says so until an admin recovers the state
    (`POST /api/v1/stacks/{id}/state/recover`). The stack is marked even when the run already
    ended under this worker (the reaper failed it): what terraform did must not be lost."""
    run = session.get(Run, run_id, populate_existing=True)
    assert run is not None
    stack = session.get(Stack, run.stack_id, with_for_update=True)
    assert stack is not None
    stack.state_recovery_artifact, stack.state_recovery_run_id = artifact, run_id
    log.warning("run=%s stack=%s state not saved, kept as %s", run_id, stack.id, artifact)
    if is_terminal(RunState(run.state)):
        return []
    decision = service.transition(
        session, run_id, RunState.FAILED, actor=WORKER, reason=reason, failure_reason=reason
    )
    if not isinstance(decision, Allowed):
        return []
    return ended(session, run)


def apply_done(session: Session, run_id: int) -> list[Doorbell]:
    """Applied (its outputs already kept through the API): finish the run."""
    run = session.get(Run, run_id)
    assert run is not None
    move(session, run_id, RunState.FINISHED, RunState.APPLYING, "applied")
    return finished(session, run)


def finished(session: Session, run: Run) -> list[Doorbell]:
    """A run became terminal: free its stack, carry on from its end, wake the stack's next run."""
    service.release_stack_lock(session, run.stack_id, run.id)
    statestore.release_locks_of_run(session, run.id)
    bells = ended(session, run)
    for waiting in service.queued_runs_of_stack(session, run.stack_id)[:1]:
        bells.append(plan_bell(session, waiting))
    return bells


def ended(session: Session, run: Run) -> list[Doorbell]:
    """A run became terminal: record a drift check's end, advance its pipeline (skipping the
    runs behind a failure, ringing the eligible ones) and start the hand-off when the pipeline
    is complete. Frees nothing: a lost apply keeps its stack locked until an admin unlocks it."""
    if run.kind == RunKind.DRIFT:
        drift.record_end(session, run)
    if run.pipeline_id is None:
        return []
    return advance_pipeline(session, run.pipeline_id) + _handoff_when_complete(
        session, run.pipeline_id
    )


def _handoff_when_complete(session: Session, pipeline_id: int) -> list[Doorbell]:
    """The hand-off of a pipeline whose final stack's tracked run and every other run are
    FINISHED (a run SKIPPED because nothing reached it changed counts as FINISHED; of a stack
    planned again after a lost worker, only the latest attempt counts)."""
    if handoff.final_run(session, pipeline_id) is None:
        return []
    handoff.lock_pipeline(session, pipeline_id)
    final = handoff.final_run(session, pipeline_id)
    if final is None or final.state != RunState.FINISHED:
        return []
    rows = session.execute(
        select(Run.id, Run.stack_id, Run.state)
        .where(Run.pipeline_id == pipeline_id)
        .order_by(Run.id)
    )
    latest = {stack_id: (run_id, RunState(state)) for run_id, stack_id, state in rows}
    states = _effective(session, dict(latest.values()))
    if any(state != RunState.FINISHED for state in states.values()):
        return []
    started = handoff.start_once(session, final)
    if started is None:
        return []
    return [Doorbell("handoff", started.id, queue_for(session, final))]


SUPERSEDABLE = (RunState.QUEUED, RunState.UNCONFIRMED)


def supersede(session: Session, new_run_ids: list[int]) -> list[Doorbell]:
    """A newer commit discards the older QUEUED and UNCONFIRMED tracked runs of its stacks:
    a stale plan is never applied."""
    bells: list[Doorbell] = []
    for run_id in new_run_ids:
        new = session.get(Run, run_id)
        if new is None or new.kind != RunKind.TRACKED:
            continue
        older = select(Run).where(
            Run.stack_id == new.stack_id,
            Run.kind == RunKind.TRACKED,
            Run.state.in_(SUPERSEDABLE),
            Run.id < new.id,
            Run.commit_sha != new.commit_sha,
        )
        for old in list(session.scalars(older)):
            decision = service.transition(
                session,
                old.id,
                RunState.DISCARDED,
                actor="stackrun",
                reason=f"superseded by run {new.id}",
                expect=RunState(old.state),
            )
            if isinstance(decision, Allowed):
                bells += finished(session, old)
    return bells


ENDABLE_PROPOSAL_STATES = (
    RunState.QUEUED,
    RunState.PREPARING,
    RunState.INITIALIZING,
    RunState.PLANNING,
)


def supersede_proposals(session: Session, pipeline_id: int) -> list[Doorbell]:
    """A newer head commit of a branch or pull request ends the older proposals for it:
    queued runs are DISCARDED, running ones STOPPED ("superseded")."""
    new = session.get(Pipeline, pipeline_id)
    if new is None or new.kind != RunKind.PROPOSED:
        return []
    same = Pipeline.branch == new.branch
    if new.pr_number is not None:
        same = or_(same, Pipeline.pr_number == new.pr_number)
    older = select(Pipeline).where(
        Pipeline.repository_id == new.repository_id,
        Pipeline.kind == RunKind.PROPOSED,
        Pipeline.id < new.id,
        Pipeline.commit_sha != new.commit_sha,
        same,
    )
    reason = f"superseded by pipeline {new.id} at {new.commit_sha[:12]}"
    bells: list[Doorbell] = []
    for old in list(session.scalars(older.order_by(Pipeline.id))):
        bells += _end_proposal(session, old, reason)
    return bells


def end_proposals(
    session: Session, repository_id: int, pr_number: int, reason: str
) -> list[Doorbell]:
    """A closed pull/merge request ends its pending proposed runs."""
    proposals = select(Pipeline).where(
        Pipeline.repository_id == repository_id,
        Pipeline.kind == RunKind.PROPOSED,
        Pipeline.pr_number == pr_number,
    )
    bells: list[Doorbell] = []
    for proposal in list(session.scalars(proposals.order_by(Pipeline.id))):
        bells += _end_proposal(session, proposal, reason)
    return bells


def _end_proposal(session: Session, proposal: Pipeline, reason: str) -> list[Doorbell]:
    runs = session.scalars(
        select(Run)
        .where(Run.pipeline_id == proposal.id, Run.state.in_(ENDABLE_PROPOSAL_STATES))
        .order_by(Run.id)
    )
    bells: list[Doorbell] = []
    for run in list(runs):
        source = RunState(run.state)
        if is_terminal(source):
            continue
        target = RunState.DISCARDED if source == RunState.QUEUED else RunState.STOPPED
        decision = service.transition(
            session, run.id, target, actor="stackrun", reason=reason, expect=source
        )
        if isinstance(decision, Allowed):
            bells += finished(session, run)
    if not proposal.note:
        proposal.note = reason
        mark_due(session, proposal.id)
    return bells


def advance_pipeline(session: Session, pipeline_id: int) -> list[Doorbell]:
    """Skip runs behind a failed upstream (to a fixed point) and ring the eligible ones."""
    while True:
        runs = list(session.scalars(select(Run).where(Run.pipeline_id == pipeline_id)))
        states = _effective(session, {r.id: RunState(r.state) for r in runs})
        upstreams = {r.id: [int(u) for u in r.upstream_run_ids or []] for r in runs}
        step = pipeline.advance(states, upstreams)
        if not step.skipped:
            break
        for run_id, reason in step.skipped:
            service.transition(session, run_id, RunState.SKIPPED, actor="pipeline", reason=reason)
    by_id = {r.id: r for r in runs}
    return [plan_bell(session, by_id[i]) for i in step.eligible]


def _claimable_now(session: Session, run: Run) -> bool:
    """A queued run worth a new doorbell: its upstreams are done and its stack is free (a run
    waiting on either is rung by whatever ends first)."""
    if not pipeline.is_eligible(_upstream_states(session, run), run.upstream_run_ids):
        return False
    stack = session.get(Stack, run.stack_id)
    return stack is None or stack.locked_by_run_id in (None, run.id)


MAX_PLAN_ATTEMPTS = 2


def _second_attempt(session: Session, lost: Run) -> list[Doorbell]:
    """A plan whose worker was lost is planned once more (at most MAX_PLAN_ATTEMPTS in all)."""
    if lost.plan_attempts >= MAX_PLAN_ATTEMPTS:
        return []
    new = service.create_run(
        session,
        service.NewRun(
            stack_id=lost.stack_id,
            kind=RunKind(lost.kind),
            commit_sha=lost.commit_sha,
            branch=lost.branch,
            triggered_by=lost.triggered_by,
            pipeline_id=lost.pipeline_id,
            commit_message=lost.commit_message,
            commit_author=lost.commit_author,
            upstream_run_ids=tuple(lost.upstream_run_ids or ()),
            trigger_reason=f"attempt {lost.plan_attempts + 1} after run {lost.id} lost its worker",
        ),
        dedupe=False,
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


def reap(session: Session, stale_after_seconds: int = 30) -> list[Doorbell]:
    """Fail APPLYING runs whose lease expired (never re-applied, stack stays locked, their
    pipeline goes on: downstream runs are SKIPPED); re-ring QUEUED and CONFIRMED runs nobody
    claimed and pushes nobody processed."""
    now = utcnow()
    bells: list[Doorbell] = []
    expired = select(Run).where(Run.state == RunState.APPLYING, Run.lease_expires_at < now)
    for run in list(session.scalars(expired)):
        decision = service.transition(
            session,
            run.id,
            RunState.FAILED,
            actor="reaper",
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
            bells += ended(session, run)
    lost_plans = select(Run).where(
        Run.state.in_([RunState.PREPARING, RunState.INITIALIZING, RunState.PLANNING]),
        Run.lease_expires_at < now,
    )
    for run in list(session.scalars(lost_plans)):
        decision = service.transition(
            session,
            run.id,
            RunState.FAILED,
            actor="reaper",
            expect=RunState(run.state),
            reason=f"worker_lost during {run.state}: the lease expired; a plan changes nothing, "
            "so the stack is free again and the run can be retried",
            failure_reason="worker_lost",
        )
        if isinstance(decision, Allowed):
            bells += _second_attempt(session, run)
            bells += finished(session, run)
    stale = now - timedelta(seconds=stale_after_seconds)
    waiting = select(Run).where(
        Run.state.in_([RunState.QUEUED, RunState.CONFIRMED]), Run.updated_at < stale
    )
    for run in list(session.scalars(waiting)):
        if run.state == RunState.CONFIRMED:
            bells.append(Doorbell("apply_run", run.id, queue_for(session, run)))
        elif _claimable_now(session, run):
            bells.append(plan_bell(session, run))
    unprocessed = select(Event.id).where(Event.status == "received", Event.received_at < stale)
    bells += [Doorbell("process_push", event_id) for event_id in session.scalars(unprocessed)]
    bells += _retry_stuck_pushes(session, now - timedelta(seconds=PUSH_PROCESSING_TIMEOUT))
    unclaimed = handoff.reap(session, now, stale_after_seconds, HANDOFF_LOST_AFTER)
    bells += [Doorbell("handoff", handoff_id, pool) for handoff_id, pool in unclaimed]
    return bells


HANDOFF_LOST_AFTER = 3 * 3600


PUSH_PROCESSING_TIMEOUT = 900
PUSH_ATTEMPTS = 3


def _retry_stuck_pushes(session: Session, started_before: datetime) -> list[Doorbell]:
    """A push whose worker died mid-way is tried again, at most PUSH_ATTEMPTS times."""
    bells: list[Doorbell] = []
    stuck = select(Event).where(Event.status == "processing", Event.received_at < started_before)
    for event in session.scalars(stuck):
        if event.attempts >= PUSH_ATTEMPTS:
            event.status = "failed"
            event.detail = f"gave up after {event.attempts} attempts to process this push"
            event.processed_at = utcnow()
        else:
            event.status = "received"
            bells.append(Doorbell("process_push", event.id))
    return bells
