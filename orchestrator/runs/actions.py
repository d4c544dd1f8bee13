"""What a person may do to runs and stacks: cancel, stop, retry, trigger, unlock.
`who` is a principal the caller has already authorized for the action (the API's role
dependency, api/deps.authorized); refusals on business grounds come back as data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from orchestrator import statestore
from orchestrator.auth import Principal, audit
from orchestrator.models import Repository, Run, Stack, StateLock
from orchestrator.repos import mirror_for
from orchestrator.runs import advance, locks, reach, service
from orchestrator.runs.queue import Doorbell, plan_bell
from orchestrator.runstate import (
    PLANNING_PHASE,
    RETRYABLE,
    SUPERSEDABLE,
    TERMINAL,
    Allowed,
    RunKind,
    RunState,
    in_order,
)
from orchestrator.vcs.mirror import Mirror


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str


@dataclass(frozen=True)
class Done:
    run_id: int
    state: RunState
    doorbells: tuple[Doorbell, ...] = ()


def _end(
    session: Session,
    run_id: int,
    who: Principal,
    target: RunState,
    allowed_from: tuple[RunState, ...],
    action: str,
    comment: str,
) -> Done | Refusal:
    run = session.get(Run, run_id, populate_existing=True, with_for_update=True)
    if run is None:
        return Refusal(404, f"run {run_id} does not exist")
    if run.state not in allowed_from:
        states = " or ".join(allowed_from)
        return Refusal(
            409, f"run {run_id} is {run.state}; only a {states} run can be {target.lower()}"
        )
    decision = service.transition(
        session,
        run_id,
        target,
        actor=who.name,
        reason=comment or action,
        expect=RunState(run.state),
    )
    if not isinstance(decision, Allowed):
        return Refusal(409, decision.reason)
    audit(session, who.name, f"run.{action}", f"run:{run_id}", {"comment": comment})
    return Done(run_id, target, tuple(advance.finished(session, run)))


def cancel(session: Session, run_id: int, who: Principal, comment: str = "") -> Done | Refusal:
    return _end(session, run_id, who, RunState.CANCELED, (RunState.QUEUED,), "cancel", comment)


def discard(session: Session, run_id: int, who: Principal, comment: str = "") -> Done | Refusal:
    return _end(
        session,
        run_id,
        who,
        RunState.DISCARDED,
        in_order(SUPERSEDABLE),
        "discard",
        comment,
    )


def stop(session: Session, run_id: int, who: Principal, comment: str = "") -> Done | Refusal:
    """The worker sees STOPPED within a second and sends terraform SIGINT."""
    return _end(session, run_id, who, RunState.STOPPED, in_order(PLANNING_PHASE), "stop", comment)


def retry(session: Session, run_id: int, who: Principal) -> Done | Refusal:
    """A new run at the same commit, triggered by the retrier (`retry:<token>`); a TRACKED one
    only while that commit is still on the tracked branch (runs/reach.py)."""
    run = session.get(Run, run_id)
    if run is None:
        return Refusal(404, f"run {run_id} does not exist")
    if run.state not in RETRYABLE:
        return Refusal(
            409,
            f"run {run_id} is {run.state}; only a failed, stopped, canceled or "
            "skipped run can be retried",
        )
    if run.kind == RunKind.TRACKED:
        placed = _on_tracked_branch(session, run.stack_id, run.commit_sha)
        if isinstance(placed, Refusal):
            return Refusal(placed.status, f"retrying run {run_id}: {placed.reason}")
    again = service.again(run, f"retry:{who.name}", f"retry of run {run.id}", in_pipeline=False)
    new = service.create_run(session, again, dedupe=False)
    assert new is not None
    audit(session, who.name, "run.retry", f"run:{run_id}", {"new_run": new.id})
    return Done(new.id, RunState.QUEUED, _wake(session, new))


def trigger(
    session: Session, stack_id: str, who: Principal, revision: str | None
) -> Done | Refusal:
    """A manual TRACKED run of a stack at a commit on its tracked branch (the head when
    `revision` is None), as stackrun's mirror last fetched it (runs/reach.py)."""
    placed = _on_tracked_branch(session, stack_id, revision)
    if isinstance(placed, Refusal):
        return Refusal(placed.status, f"triggering a run of {stack_id!r}: {placed.reason}")
    mirror, repository, commit_sha = placed
    message, author = mirror.commit_info(commit_sha)
    new = service.create_run(
        session,
        service.NewRun(
            stack_id=stack_id,
            kind=RunKind.TRACKED,
            commit_sha=commit_sha,
            branch=repository.branch,
            triggered_by=f"manual:{who.name}",
            commit_message=message,
            commit_author=author[:200],
            trigger_reason="triggered by hand",
        ),
        dedupe=False,
    )
    assert new is not None
    audit(
        session,
        who.name,
        "stack.trigger",
        f"stack:{stack_id}",
        {"run": new.id, "commit": commit_sha},
    )
    return Done(new.id, RunState.QUEUED, _wake(session, new))


def _on_tracked_branch(
    session: Session, stack_id: str, revision: str | None
) -> tuple[Mirror, Repository, str] | Refusal:
    """The commit a TRACKED run of the stack may be at, read from the mirror without a fetch."""
    stack = session.get(Stack, stack_id)
    if stack is None:
        return Refusal(404, f"stack {stack_id!r} does not exist")
    repository = session.get(Repository, stack.repository_id)
    assert repository is not None
    mirror = mirror_for(repository)
    place = mirror.locate(revision, repository.branch)
    commit = reach.tracked_commit(place, revision, repository.name, repository.branch)
    if isinstance(commit, reach.OffBranch):
        return Refusal(commit.status, commit.reason)
    return mirror, repository, commit


def _wake(session: Session, run: Run) -> tuple[Doorbell, ...]:
    return (plan_bell(session, run),)


def _admin_stack(session: Session, stack_id: str) -> Stack | Refusal:
    """The stack an admin acts on, locked for update; the refusal when it does not exist."""
    stack = session.get(Stack, stack_id, with_for_update=True)
    if stack is None:
        return Refusal(404, f"stack {stack_id!r} does not exist")
    return stack


def unlock(session: Session, stack_id: str, who: Principal) -> Done | Refusal:
    """Free a stack whose lock outlived its run (worker_lost): admin only, audited."""
    stack = _admin_stack(session, stack_id)
    if isinstance(stack, Refusal):
        return stack
    if stack.state_recovery_artifact and stack.managed_state:
        return Refusal(
            409,
            f"the state of run {stack.state_recovery_run_id} of {stack_id!r} was not saved "
            f"(kept as {stack.state_recovery_artifact}); recover it first with "
            f"POST /api/v1/stacks/{stack_id}/state/recover",
        )
    holder = session.get(Run, stack.locked_by_run_id) if stack.locked_by_run_id else None
    if holder is not None and holder.state not in TERMINAL:
        return Refusal(
            409,
            f"stack {stack_id!r} is locked by run {holder.id}, which is "
            f"{holder.state}; stop or discard it instead",
        )
    previous = stack.locked_by_run_id
    stack.locked_by_run_id = None
    stack.state_recovery_artifact = stack.state_recovery_run_id = None
    state_lock = session.get(StateLock, stack_id)
    if state_lock is not None:
        session.delete(state_lock)
    audit(session, who.name, "stack.unlock", f"stack:{stack_id}", {"was_locked_by": previous})
    bells = tuple(locks.wake_next(session, stack_id))
    return Done(previous or 0, RunState.FINISHED, bells)


def recover_state(
    session: Session, stack_id: str, who: Principal, read: Callable[[str], bytes]
) -> Done | Refusal:
    """Push the state an apply could not save (its errored.tfstate artifact) as the stack's
    new managed state version, then free the stack: admin only, audited."""
    stack = _admin_stack(session, stack_id)
    if isinstance(stack, Refusal):
        return stack
    key, run_id = stack.state_recovery_artifact, stack.state_recovery_run_id
    if key is None:
        return Refusal(409, f"stack {stack_id!r} has no state waiting to be recovered")
    if not stack.managed_state:
        return Refusal(
            409,
            f"stack {stack_id!r} uses its own {stack.backend_type} backend: push {key} with "
            "`terraform state push`, then POST /api/v1/stacks/{id}/unlock",
        )
    lock = session.get(StateLock, stack_id)
    if lock is not None:
        session.delete(lock)
        session.flush()
    saved = statestore.save(session, stack_id, read(key), None, run_id)
    if isinstance(saved, statestore.StateRefusal):
        return Refusal(422, f"artifact {key} is not a state to recover: {saved.reason}")
    stack.state_recovery_artifact = stack.state_recovery_run_id = None
    previous, stack.locked_by_run_id = stack.locked_by_run_id, None
    audit(
        session,
        who.name,
        "stack.state_recover",
        f"stack:{stack_id}",
        {"artifact": key, "run": run_id, "serial": saved.serial, "was_locked_by": previous},
    )
    bells = tuple(locks.wake_next(session, stack_id))
    return Done(run_id or 0, RunState.FAILED, bells)
