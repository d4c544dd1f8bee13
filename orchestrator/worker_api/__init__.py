"""The workers' one door into the orchestrator (with settings and the toolchain): claim a run,
keep its lease, step it, record its plan and apply or its failure, and everything it works on.
Every function opens its own session; a worker never holds a Session or a model row, only the
values below. The doorbells a function returns are rung with `ring` once the worker is done."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from orchestrator import plans, subscribers
from orchestrator.artifacts.store import ArtifactStore, log_key, open_store, plan_json_key, plan_key
from orchestrator.aws.sts import AssumeRoleFailed
from orchestrator.db import session_scope
from orchestrator.graphstore.gate import StackAtCommit
from orchestrator.models import Run
from orchestrator.policy import gates
from orchestrator.runs import claims, outcomes, service
from orchestrator.runs.claims import RunMoved
from orchestrator.runs.environment import RunEnvironment
from orchestrator.runs.queue import Doorbell, celery_config, ring_all
from orchestrator.runstate import RunKind, RunState, is_terminal
from orchestrator.secrets.masking import Masker
from orchestrator.trust import missing_secret_hint
from orchestrator.vcs.mirror import VcsError
from orchestrator.worker_api import claim
from orchestrator.worker_api.inputs import (
    AssumedRole,
    RunInputs,
    assume_role,
    check_stack_file,
    export_commit,
    managed_outputs,
    upstream_state,
    warm_up_parser,
)
from orchestrator.worker_api.tasks import (
    advance_pipeline,
    boundary_check,
    deliver_notifications,
    deliver_reports,
    dispatch_drift,
    drift_tick,
    handoff_platform,
    process_push,
    reap,
)

__all__ = [
    "ArtifactStore",
    "AssumeRoleFailed",
    "AssumedRole",
    "Doorbell",
    "Masker",
    "PlanVerdict",
    "RunEnvironment",
    "RunInputs",
    "RunKind",
    "RunMoved",
    "RunState",
    "StackAtCommit",
    "VcsError",
    "advance_pipeline",
    "assume_role",
    "boundary_check",
    "celery_config",
    "check_stack_file",
    "claim_for_apply",
    "claim_for_plan",
    "deliver_notifications",
    "deliver_reports",
    "dispatch_drift",
    "drift_tick",
    "export_commit",
    "fail",
    "handoff_platform",
    "hear_run_events",
    "heartbeat",
    "judge_plan",
    "log_key",
    "managed_outputs",
    "missing_secret_hint",
    "open_store",
    "plan_json_key",
    "plan_key",
    "process_push",
    "reap",
    "record_apply",
    "record_inputs_digest",
    "record_plan",
    "ring",
    "state_not_saved",
    "step",
    "summarize",
    "upstream_state",
    "warm_up_parser",
]

summarize = plans.summarize


def hear_run_events() -> None:
    """Subscribe drift, hand-off, notifications and reports to what runs publish: called once
    by the Celery app before any task runs."""
    subscribers.install()


def claim_for_plan(run_id: int, lease_seconds: int) -> RunInputs | None:
    """One transaction: a run that only an upstream reached, whose inputs are those of the
    stack's last finished run, is SKIPPED (its doorbells rung); any other QUEUED run goes to
    PREPARING under a lease of `lease_seconds` with a credential of its own. None when skipped
    or not claimable now."""
    with session_scope() as session:
        claimed, skipped = claim.plan_claim_in(session, run_id, lease_seconds)
    if skipped is not None:
        ring_all(skipped)
    return claimed


def claim_for_apply(
    run_id: int, lease_seconds: int, in_planning_workspace: bool = False
) -> RunInputs | None:
    """CONFIRMED → APPLYING under a lease of `lease_seconds`, with a credential of its own;
    None when not claimable. An autodeploy applying `in_planning_workspace` keeps the plan
    task's credential, which that workspace's terraform already holds (`credential` empty)."""
    with session_scope() as session:
        return claim.claim_in(
            session, claims.claim_for_apply, run_id, lease_seconds, not in_planning_workspace
        )


def heartbeat(run_id: int, renew_seconds: int | None) -> RunState | None:
    """Renew the run's lease for `renew_seconds` (None: only look); the terminal state the run
    ended in under this worker, or None while it goes on."""
    with session_scope() as session:
        found = session.scalar(select(Run.state).where(Run.id == run_id))
        state = RunState(found) if found is not None else None
        if renew_seconds is not None:
            service.renew_lease(session, run_id, claims.WORKER, renew_seconds)
    return state if state is not None and is_terminal(state) else None


def record_inputs_digest(run_id: int, digest: str) -> None:
    with session_scope() as session:
        service.update_run_fields(session, run_id, inputs_sha256=digest)


def step(
    run_id: int, target: RunState, expect: RunState, reason: str, inputs_digest: str | None = None
) -> None:
    """A step of a worker's procedure, with the digest of the run's inputs when given (in the
    same transaction); RunMoved when someone else changed the run."""
    fields = {} if inputs_digest is None else {"inputs_sha256": inputs_digest}
    with session_scope() as session:
        claims.move(session, run_id, target, expect, reason, **fields)


@dataclass(frozen=True)
class PlanVerdict:
    """What the policies said of a plan: `lines` for the run's log, `denied_reason` when the
    run must fail, and whether autodeploy may apply it (`approved`, not `needs_human`)."""

    lines: tuple[str, ...]
    denied_reason: str | None
    needs_human: bool
    approved: bool


def judge_plan(
    run_id: int, plan_json: Mapping[str, Any], summary: Mapping[str, int]
) -> PlanVerdict:
    """Plan policies, then approval policies (recorded on the run)."""
    gate = gates.after_plan(run_id, plan_json, summary)
    results = [*gate.plan.results, *(gate.approval.results if gate.approval else ())]
    lines = []
    for result in results:
        said = "; ".join(result.messages)
        lines.append(
            f"policy: {result.policy} v{result.version} ({result.type}) → {result.result}"
            + (f": {said}" if said else "")
        )
    return PlanVerdict(
        lines=tuple(lines),
        denied_reason=gate.denied_reason,
        needs_human=gate.plan.decision == "warn",
        approved=gate.approval is None or gate.approval.decision == "approve",
    )


def record_plan(
    run_id: int,
    plan_json: dict[str, Any],
    summary: dict[str, int],
    plan_sha256: str,
    verdict: PlanVerdict,
) -> list[Doorbell]:
    """A denied plan fails the run (its summary kept); any other is recorded and the run goes
    on: finished, waiting for approval, or confirmed for autodeploy."""
    changes = plans.resource_changes(plan_json)
    with session_scope() as session:
        if verdict.denied_reason is not None:
            service.update_run_fields(
                session, run_id, plan_summary=summary, resource_changes=changes
            )
            return outcomes.fail(session, run_id, verdict.denied_reason)
        return outcomes.plan_done(
            session,
            run_id,
            summary,
            changes,
            plan_sha256,
            plans.changed_outputs(plan_json),
            needs_human=verdict.needs_human,
            approved=verdict.approved,
        )


def record_apply(run_id: int) -> list[Doorbell]:
    """Applied (its outputs already kept through the API): the run finishes."""
    with session_scope() as session:
        return outcomes.apply_done(session, run_id)


def fail(run_id: int, reason: str) -> list[Doorbell]:
    with session_scope() as session:
        return outcomes.fail(session, run_id, reason)


def state_not_saved(run_id: int, reason: str, artifact: str) -> list[Doorbell]:
    """An apply whose state terraform could not save (kept as `artifact`): the run fails and
    its stack stays locked until an admin recovers the state."""
    with session_scope() as session:
        return outcomes.state_not_saved(session, run_id, reason, artifact)


def ring(bells: Iterable[Doorbell]) -> None:
    """Ring the doorbells a committed step decided on."""
    ring_all(bells)
