"""The only writer of run state: every change is a compare-and-set plus a history row."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.db import insert_many
from orchestrator.models import Run, RunTransition, utcnow
from orchestrator.runs import events
from orchestrator.runstate import TERMINAL, Allowed, Decision, Refused, RunKind, RunState, decide


@dataclass(frozen=True)
class NewRun:
    stack_id: str
    kind: RunKind
    commit_sha: str
    branch: str
    triggered_by: str
    pipeline_id: int | None = None
    commit_message: str = ""
    commit_author: str = ""
    upstream_run_ids: tuple[int, ...] = ()
    trigger_reason: str = ""
    pr_number: int | None = None


def again(run: Run, triggered_by: str, trigger_reason: str, in_pipeline: bool) -> NewRun:
    """A new run of the same stack, kind and commit as `run` (a retry, a second attempt):
    `in_pipeline` keeps its pipeline and upstreams, so the pipeline waits for the copy."""
    return NewRun(
        stack_id=run.stack_id,
        kind=RunKind(run.kind),
        commit_sha=run.commit_sha,
        branch=run.branch,
        triggered_by=triggered_by,
        pipeline_id=run.pipeline_id if in_pipeline else None,
        commit_message=run.commit_message,
        commit_author=run.commit_author,
        upstream_run_ids=tuple(run.upstream_run_ids or ()) if in_pipeline else (),
        trigger_reason=trigger_reason,
    )


def dedupe_key(stack_id: str, commit_sha: str, kind: RunKind) -> str:
    return f"{stack_id}@{commit_sha}#{kind}"


def create_run(session: Session, new: NewRun, dedupe: bool = True) -> Run | None:
    """Create a QUEUED run, or return None when (stack, commit, kind) already has one.
    Retries and manual runs are deliberate repeats: they carry no dedupe key."""
    run = Run(
        stack_id=new.stack_id,
        pipeline_id=new.pipeline_id,
        kind=new.kind,
        state=RunState.QUEUED,
        dedupe_key=dedupe_key(new.stack_id, new.commit_sha, new.kind) if dedupe else None,
        commit_sha=new.commit_sha,
        commit_message=new.commit_message,
        commit_author=new.commit_author,
        branch=new.branch,
        pr_number=new.pr_number,
        triggered_by=new.triggered_by,
        upstream_run_ids=list(new.upstream_run_ids),
        trigger_reason=new.trigger_reason,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None
    session.add(
        RunTransition(
            run_id=run.id,
            from_state=None,
            to_state=RunState.QUEUED,
            actor=new.triggered_by,
            reason="created",
        )
    )
    return run


def create_runs(
    session: Session, news: Sequence[NewRun], ids: Sequence[int] | None = None
) -> list[int]:
    """Many QUEUED runs at once, without dedupe keys (a drift batch's checks): one statement
    for the runs and one for their first history rows. Their ids, in the order given: `ids`
    when the caller reserved them from the runs' sequence (PostgreSQL), else new ones."""
    if not news:
        return []
    now = utcnow()
    given: list[dict[str, Any]] = [{"id": i} for i in ids] if ids is not None else [{}] * len(news)
    runs = [
        given[n]
        | {
            "stack_id": new.stack_id,
            "pipeline_id": new.pipeline_id,
            "kind": new.kind,
            "state": RunState.QUEUED,
            "commit_sha": new.commit_sha,
            "commit_message": new.commit_message,
            "commit_author": new.commit_author,
            "branch": new.branch,
            "triggered_by": new.triggered_by,
            "upstream_run_ids": list(new.upstream_run_ids),
            "trigger_reason": new.trigger_reason,
            "plan_attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for n, new in enumerate(news)
    ]
    inserted = insert_many(session, cast(Table, Run.__table__), runs, returning=["id"])
    created = [int(row.id) for row in inserted]
    history = [
        {
            "run_id": run_id,
            "to_state": RunState.QUEUED,
            "actor": new.triggered_by,
            "reason": "created",
            "at": now,
        }
        for run_id, new in zip(created, news, strict=True)
    ]
    insert_many(session, cast(Table, RunTransition.__table__), history)
    return created


def transition(
    session: Session,
    run_id: int,
    target: RunState,
    *,
    actor: str,
    reason: str = "",
    expect: RunState | None = None,
    **fields: Any,
) -> Decision:
    """Move a run to `target` if the machine allows it and nobody moved it first."""
    run = session.get(Run, run_id, populate_existing=True)
    if run is None:
        raise LookupError(f"run {run_id} does not exist")
    source = RunState(run.state)
    if expect is not None and source != expect:
        return Refused(source, target, f"run {run_id} is {source}, expected {expect}")
    decision = decide(source, target, RunKind(run.kind))
    if isinstance(decision, Refused):
        return decision
    now = utcnow()
    values: dict[str, Any] = {"state": target, "updated_at": now, **fields}
    if target in TERMINAL:
        values["finished_at"] = now
        values.setdefault("lease_owner", None)
        values.setdefault("lease_expires_at", None)
    result = session.execute(
        update(Run).where(Run.id == run_id, Run.state == source).values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return Refused(source, target, f"run {run_id} changed state concurrently")
    session.add(
        RunTransition(run_id=run_id, from_state=source, to_state=target, actor=actor, reason=reason)
    )
    session.flush()
    session.refresh(run)
    if events.publish(session, events.RunChanged(run, source, target)):
        raise RuntimeError("a RunChanged subscriber records in the transaction; it never rings")
    return Allowed(source, target)


def update_run_fields(session: Session, run_id: int, **fields: Any) -> None:
    """Record results (plan summary, checksums) on a run without changing its state."""
    if "state" in fields:
        raise ValueError("state changes go through transition()")
    session.execute(update(Run).where(Run.id == run_id).values(updated_at=utcnow(), **fields))


def renew_lease(session: Session, run_id: int, owner: str, seconds: int) -> datetime:
    expires = utcnow() + timedelta(seconds=seconds)
    session.execute(
        update(Run).where(Run.id == run_id).values(lease_owner=owner, lease_expires_at=expires)
    )
    return expires


def lease(owner: str, seconds: int) -> dict[str, Any]:
    """The columns of a lease held by `owner` for `seconds` from now (a claim writes them with
    its transition, a heartbeat with `renew_lease`)."""
    return {"lease_owner": owner, "lease_expires_at": utcnow() + timedelta(seconds=seconds)}


def issue_run_credential(session: Session, run_id: int) -> str:
    """A fresh password for the run's task: its managed state and its door to the API
    (environment, outputs). Only its hash is kept, so nothing can decrypt it later; a new task
    of the run gets a new one, and none is valid once the run is terminal."""
    credential = secrets.token_urlsafe(32)
    issued = session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(
            state_credential_hash=hashlib.sha256(credential.encode()).hexdigest(),
            state_credential_enc=None,
        )
    )
    if issued.rowcount != 1:  # type: ignore[attr-defined]
        raise LookupError(f"run {run_id} does not exist")
    return credential
