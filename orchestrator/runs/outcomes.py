"""What a worker reports: a plan (then approval, apply or done), an apply, a failure, an
apply whose state could not be saved. Each ends or moves the run and says what to ring."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.models import Run, Stack
from orchestrator.runs import advance, service
from orchestrator.runs.claims import WORKER, move
from orchestrator.runs.queue import Doorbell, apply_bell
from orchestrator.runstate import APPLYING_KINDS, Allowed, RunKind, RunState, is_terminal

log = logging.getLogger(__name__)


def _plan_only_reason(run: Run, summary: dict[str, int], outputs: list[str] | None) -> str | None:
    """Why a planned run ends here, or None when it goes on to approval or apply."""
    if run.kind == RunKind.DRIFT:
        return "drift check: plan only"
    if not any(summary.values()) and not outputs:
        return "no changes"
    if RunKind(run.kind) not in APPLYING_KINDS:
        return f"{run.kind} run: plan only"
    return None


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
    done = _plan_only_reason(run, summary, outputs)
    if done is not None:
        move(session, run_id, RunState.FINISHED, RunState.PLANNING, done)
        return advance.finished(session, run)
    stack = session.get(Stack, run.stack_id)
    if stack is not None and stack.autodeploy and approved and not needs_human:
        move(session, run_id, RunState.CONFIRMED, RunState.PLANNING, "autodeploy")
        return [apply_bell(session, run)]
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
    return advance.finished(session, run)


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
    return advance.ended(session, run)


def apply_done(session: Session, run_id: int) -> list[Doorbell]:
    """Applied (its outputs already kept through the API): finish the run."""
    run = session.get(Run, run_id)
    assert run is not None
    move(session, run_id, RunState.FINISHED, RunState.APPLYING, "applied")
    return advance.finished(session, run)
