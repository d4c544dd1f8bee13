"""Stacks, and Terraform's http backend for stackrun-managed state."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import repos, statestore
from orchestrator.api.deps import PrincipalDep, SessionDep, require, settle
from orchestrator.api.views import stack_view
from orchestrator.artifacts.store import open_store
from orchestrator.auth import audit, authenticate
from orchestrator.db import session_scope
from orchestrator.drift import schedule
from orchestrator.drift import service as drift
from orchestrator.models import Run, Stack, StateLock, utcnow
from orchestrator.runs import actions
from orchestrator.runs.queue import ring
from orchestrator.runs.state import RunState
from orchestrator.runs.trust import redact_state

router = APIRouter(prefix="/api/v1/stacks", tags=["stacks"])
STATE = "/{stack_id:path}/state"


def _stack(session: Session, stack_id: str) -> Stack:
    stack = session.get(Stack, stack_id)
    if stack is None:
        raise HTTPException(404, f"stack {stack_id!r} does not exist")
    return stack


NO_STATE_CREDENTIAL = (
    "no valid credential for this stack's state: Terraform reads and writes it with the "
    "credential of a live run of the stack (Basic auth); an admin token may read it"
)


def _state_caller(
    session: Session, stack_id: str, authorization: str | None, writing: bool
) -> tuple[str, Run | None]:
    """Basic auth with a live run's credential; an admin token may read. Anyone else gets
    the same 401 whether or not the stack exists."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, password = "", ""
        run = statestore.run_for_credential(session, stack_id, username, password)
        if run is not None:
            return f"run-{run.id}", run
    if scheme.lower() == "bearer" and not writing:
        principal = authenticate(session, value.strip())
        if principal is not None and principal.has("admin"):
            return principal.name, None
    raise HTTPException(
        401, NO_STATE_CREDENTIAL, headers={"WWW-Authenticate": 'Basic realm="stackrun-state"'}
    )


def _writer(session: Session, stack_id: str, authorization: str | None) -> Run:
    """The live run whose credential this is; state is written and locked by runs only."""
    _actor, run = _state_caller(session, stack_id, authorization, writing=True)
    assert run is not None, "a writing caller is always a run"
    return run


@router.get(STATE)
def get_state(
    stack_id: str, session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    _actor, run = _state_caller(session, stack_id, authorization, writing=False)
    stack = _stack(session, stack_id)
    version = statestore.latest(session, stack.id)
    if version is None:
        return Response(status_code=404)
    content = version.content
    if run is not None and not repos.run_is_trusted(session, run):
        content = redact_state(content)
    return Response(content, media_type="application/json")


@router.post(STATE)
async def post_state(
    stack_id: str,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    ID: str | None = None,
) -> Response:
    body = await request.body()
    return await run_in_threadpool(_write_state, stack_id, body, authorization, ID)


def _write_state(
    stack_id: str, body: bytes, authorization: str | None, lock_id: str | None
) -> Response:
    """Only an applying run writes state (a plan never does), under its state lock."""
    with session_scope() as session:
        run = _writer(session, stack_id, authorization)
        if run.state != RunState.APPLYING:
            raise HTTPException(403, f"only an applying run writes the state of {stack_id!r}")
        result = statestore.save(session, run.stack_id, body, lock_id, run.id)
        if isinstance(result, statestore.StateRefusal):
            session.rollback()
            return JSONResponse(result.body or {"detail": result.reason}, result.status)
        audit(
            session,
            f"run-{run.id}",
            "state.write",
            f"stack:{run.stack_id}",
            {"serial": result.serial, "sha256": result.sha256},
        )
    return Response(status_code=200)


@router.api_route(STATE, methods=["LOCK", "UNLOCK"])
async def lock_state(
    stack_id: str, request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    body = await request.body()
    return await run_in_threadpool(_lock_state, stack_id, request.method, body, authorization)


def _lock_info(raw: bytes) -> dict[str, Any]:
    try:
        info = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise HTTPException(400, "lock info is not JSON") from None
    if not isinstance(info, dict) or not info.get("ID"):
        raise HTTPException(400, "lock info must be a JSON object with an ID")
    return info


def _lock_state(stack_id: str, method: str, raw: bytes, authorization: str | None) -> Response:
    """LOCK and UNLOCK by the applying run of the stack (a plan never locks, so a proposed run
    cannot hold the state against an apply); a lock is only ever released by its holder
    (statestore.holder_refusal) or by an admin's POST /stacks/{id}/unlock. Any other live
    run meets a held lock as a 423 "locked by run N"."""
    with session_scope() as session:
        run = _writer(session, stack_id, authorization)
        info = _lock_info(raw)
        held = session.get(StateLock, run.stack_id)
        if run.state != RunState.APPLYING and (held is None or held.run_id == run.id):
            raise HTTPException(403, f"only an applying run locks the state of {stack_id!r}")
        if method == "LOCK":
            result = statestore.lock(session, run.stack_id, info, run.id)
            refusal = result if isinstance(result, statestore.StateRefusal) else None
        else:
            refusal = statestore.unlock(session, run.stack_id, info, run.id)
        if refusal is not None:
            session.rollback()
            return JSONResponse(refusal.body or {"detail": refusal.reason}, refusal.status)
        audit(
            session,
            f"run-{run.id}",
            f"state.{method.lower()}",
            f"stack:{run.stack_id}",
            {"lock_id": info.get("ID")},
        )
    return Response(status_code=200)


class TriggerIn(BaseModel):
    commit: str | None = None


@router.post("/{stack_id:path}/runs", status_code=201)
def trigger_run(
    stack_id: str, session: SessionDep, who: PrincipalDep, body: TriggerIn | None = None
) -> dict[str, Any]:
    """A manual tracked run at a commit on the tracked branch, or at its head, as stackrun's
    mirror last fetched it (no fetch: a commit arrives with its push)."""
    revision = body.commit if body and body.commit else None
    done = settle(session, actions.trigger(session, stack_id, who, revision))
    run = session.get(Run, done.run_id)
    assert run is not None
    return {"id": done.run_id, "state": done.state, "commit": run.commit_sha}


@router.post("/{stack_id:path}/unlock")
def unlock_stack(stack_id: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    done = settle(session, actions.unlock(session, stack_id, who))
    return {"stack": stack_id, "unlocked_from_run": done.run_id or None}


@router.post("/{stack_id:path}/state/recover")
def recover_state(stack_id: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    """Push the state an apply could not save as the stack's new version (admin)."""
    done = settle(session, actions.recover_state(session, stack_id, who, open_store().get))
    return {"stack": stack_id, "recovered_from_run": done.run_id or None}


class DriftIn(BaseModel):
    """An admin's override of a stack's `drift_detection`; null restores stackrun.hcl's."""

    schedules: list[str] = []
    reconcile: bool = False


class StackPatch(BaseModel):
    drift_detection: DriftIn | None = None


@router.patch("/{stack_id:path}")
def patch_stack(
    stack_id: str, body: StackPatch, session: SessionDep, who: PrincipalDep
) -> dict[str, Any]:
    require(who, "admin", "changing a stack's drift detection")
    stack = _stack(session, stack_id)
    if body.drift_detection is None:
        stack.drift_override = None
    else:
        errors = [e for e in map(schedule.invalid_schedule, body.drift_detection.schedules) if e]
        if errors:
            raise HTTPException(422, "; ".join(errors))
        stack.drift_override = body.drift_detection.model_dump()
    audit(session, who.name, "stack.patch", f"stack:{stack.id}", body.model_dump())
    session.commit()
    return stack_view(stack)


@router.post("/{stack_id:path}/drift-check", status_code=201)
def drift_check(stack_id: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    """A drift check now, outside the schedule."""
    require(who, "approver", "starting a drift check")
    stack = _stack(session, stack_id)
    run_id = drift.start_check(session, stack, utcnow(), f"requested by {who.name}")
    if run_id is None:
        session.commit()
        raise HTTPException(409, f"stack {stack.id!r} has never been applied: nothing to check")
    audit(session, who.name, "stack.drift_check", f"stack:{stack.id}", {"run": run_id})
    session.commit()
    ring("plan_run", run_id, queue=stack.worker_pool)
    return {"stack": stack.id, "run": run_id}


@router.get("/{stack_id:path}/drift")
def drift_history(stack_id: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    stack = _stack(session, stack_id)
    return {
        "stack": stack.id,
        "drift_status": stack.drift_status,
        "last_drift_check_at": _iso(stack.last_drift_check_at),
        "schedules": drift.schedules_of(stack),
        "reconcile": drift.reconciles(stack),
        "checks": drift.history(session, stack.id),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@router.get("")
def list_stacks(session: SessionDep, who: PrincipalDep) -> list[dict[str, Any]]:
    return [stack_view(s) for s in session.scalars(select(Stack).order_by(Stack.id))]


@router.get("/{stack_id:path}")
def get_stack(stack_id: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    return stack_view(_stack(session, stack_id))
