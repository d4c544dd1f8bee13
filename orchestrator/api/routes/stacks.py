"""Stacks, and Terraform's http backend for stackrun-managed state."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import Field

from orchestrator import repos, securitylog, statestore
from orchestrator.api.deps import PrincipalDep, RequestBody, SessionDep, authorized, settle
from orchestrator.api.errors import error_response, responses
from orchestrator.api.security import RUN_CREDENTIAL, TOKEN, BasicCredential
from orchestrator.api.views import stack_view
from orchestrator.artifacts.store import open_store
from orchestrator.auth import Principal, audit, authenticate
from orchestrator.db import session_scope
from orchestrator.drift import service as drift
from orchestrator.models import MAX_INTEGER, Run, Stack, utcnow
from orchestrator.runs import actions, queries
from orchestrator.runs.queue import ring
from orchestrator.runstate import RunState
from orchestrator.stacks import overrides
from orchestrator.stacks import queries as stacks
from orchestrator.trust import redact_state

router = APIRouter(prefix="/api/v1/stacks", tags=["stacks"], responses=responses(401))
STATE = "/{stack_id:path}/state"
LIMIT = "How many stacks, by id (1 to 5000); without it, every stack."
OFFSET = "How many stacks to pass over first, by id."


def _stack(session: SessionDep, stack_id: str) -> Stack:
    stack = stacks.stack(session, stack_id)
    if stack is None:
        raise HTTPException(404, f"stack {stack_id!r} does not exist")
    return stack


NO_STATE_CREDENTIAL = (
    "no valid credential for this stack's state: Terraform reads and writes it with the "
    "credential of a live run of the stack (Basic auth); an admin token may read it"
)


RunCredentialDep = Annotated[BasicCredential | None, Depends(RUN_CREDENTIAL)]
TokenDep = Annotated[HTTPAuthorizationCredentials | None, Depends(TOKEN)]


def _state_caller(
    session: SessionDep,
    stack_id: str,
    basic: BasicCredential | None,
    token: HTTPAuthorizationCredentials | None = None,
) -> tuple[str, Run | None]:
    """Basic auth with a live run's credential; an admin token may read (`token` is given
    only when reading). Anyone else gets the same 401 whether or not the stack exists."""
    if basic is not None:
        run = statestore.run_for_credential(session, stack_id, basic.username, basic.password)
        if run is not None:
            return f"run-{run.id}", run
    if token is not None:
        principal = authenticate(session, token.credentials.strip())
        if principal is not None and principal.has("admin"):
            return principal.name, None
    securitylog.refused(
        securitylog.BAD_RUN_CREDENTIAL,
        "no live run of the stack owns this credential, and no admin token was given",
        stack=stack_id,
        user=basic.username if basic is not None else None,
        scheme="basic" if basic is not None else "bearer" if token is not None else None,
    )
    raise HTTPException(
        401, NO_STATE_CREDENTIAL, headers={"WWW-Authenticate": 'Basic realm="stackrun-state"'}
    )


def _writer(session: SessionDep, stack_id: str, basic: BasicCredential | None) -> Run:
    """The live run whose credential this is; state is written and locked by runs only."""
    _actor, run = _state_caller(session, stack_id, basic)
    assert run is not None, "a writing caller is always a run"
    return run


STATE_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The latest state version: Terraform's state JSON.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.get(STATE, response_class=Response, responses={**STATE_DOCUMENT, **responses(404)})
def get_state(
    stack_id: str, session: SessionDep, basic: RunCredentialDep, token: TokenDep
) -> Response:
    """The latest state version; 404 when the stack has none yet (Terraform's http backend
    reads that as "no state"). An untrusted run reads it with sensitive values withheld."""
    _actor, run = _state_caller(session, stack_id, basic, token)
    stack = _stack(session, stack_id)
    version = statestore.latest(session, stack.id)
    if version is None:
        return error_response(404, f"stack {stack.id!r} has no state yet")
    content = version.content
    if run is not None and not repos.run_is_trusted(session, run):
        content = redact_state(content)
    return Response(content, media_type="application/json")


@router.post(
    STATE,
    response_class=Response,
    responses={200: {"description": "The state version was stored."}, **responses(400, 403, 409)},
)
async def post_state(
    stack_id: str, request: Request, basic: RunCredentialDep, ID: str | None = None
) -> Response:
    body = await request.body()
    return await run_in_threadpool(_write_state, stack_id, body, basic, ID)


def _write_state(
    stack_id: str, body: bytes, basic: BasicCredential | None, lock_id: str | None
) -> Response:
    """Only an applying run writes state (a plan never does), under its state lock."""
    with session_scope() as session:
        run = _writer(session, stack_id, basic)
        if run.state != RunState.APPLYING:
            raise _not_applying(run, "writes")
        result = statestore.save(session, run.stack_id, body, lock_id, run.id)
        if isinstance(result, statestore.StateRefusal):
            session.rollback()
            return _state_refusal(result)
        audit(
            session,
            f"run-{run.id}",
            "state.write",
            f"stack:{run.stack_id}",
            {"serial": result.serial, "sha256": result.sha256},
        )
    return Response(status_code=200)


def _not_applying(run: Run, doing: str) -> HTTPException:
    """The 403 for a live run acting on state outside its apply, logged as a security event."""
    reason = (
        f"only an applying run {doing} the state of {run.stack_id!r}; run {run.id} is {run.state}"
    )
    securitylog.refused(securitylog.FORBIDDEN, reason, run=run.id)
    return HTTPException(403, reason)


def _state_refusal(refusal: statestore.StateRefusal) -> Response:
    """A lock refusal carries Terraform's lock info (its http backend prints the ID); any
    other refusal is the API's error shape."""
    if refusal.body is not None:
        return Response(json.dumps(refusal.body), refusal.status, media_type="application/json")
    return error_response(refusal.status, refusal.reason)


@router.api_route(STATE, methods=["LOCK", "UNLOCK"], include_in_schema=False)
async def lock_state(stack_id: str, request: Request, basic: RunCredentialDep) -> Response:
    body = await request.body()
    return await run_in_threadpool(_lock_state, stack_id, request.method, body, basic)


def _lock_info(raw: bytes) -> dict[str, Any]:
    try:
        info = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):  # a number past Python's digit limit is a ValueError
        raise HTTPException(400, "lock info is not JSON") from None
    if not isinstance(info, dict) or not info.get("ID"):
        raise HTTPException(400, "lock info must be a JSON object with an ID")
    return info


def _lock_state(stack_id: str, method: str, raw: bytes, basic: BasicCredential | None) -> Response:
    """LOCK and UNLOCK by the applying run of the stack (a plan never locks, so a proposed run
    cannot hold the state against an apply); a lock is only ever released by its holder
    (statestore.holder_refusal) or by an admin's POST /stacks/{id}/unlock. Any other live
    run meets a held lock as a 423 "locked by run N"."""
    with session_scope() as session:
        run = _writer(session, stack_id, basic)
        info = _lock_info(raw)
        held = stacks.state_lock(session, run.stack_id)
        if run.state != RunState.APPLYING and (held is None or held.run_id == run.id):
            raise _not_applying(run, "locks")
        if method == "LOCK":
            result = statestore.lock(session, run.stack_id, info, run.id)
            refusal = result if isinstance(result, statestore.StateRefusal) else None
        else:
            refusal = statestore.unlock(session, run.stack_id, info, run.id)
        if refusal is not None:
            session.rollback()
            return _state_refusal(refusal)
        audit(
            session,
            f"run-{run.id}",
            f"state.{method.lower()}",
            f"stack:{run.stack_id}",
            {"lock_id": info.get("ID")},
        )
    return Response(status_code=200)


class TriggerIn(RequestBody):
    commit: str | None = None


@router.post("/{stack_id:path}/runs", status_code=201, responses=responses(403, 404, 409, 422))
def trigger_run(
    stack_id: str,
    session: SessionDep,
    who: Annotated[Principal, authorized("approver", "triggering a run")],
    body: TriggerIn | None = None,
) -> dict[str, Any]:
    """A manual tracked run at a commit on the tracked branch, or at its head, as stackrun's
    mirror last fetched it (no fetch: a commit arrives with its push)."""
    revision = body.commit if body and body.commit else None
    done = settle(session, actions.trigger(session, stack_id, who, revision), who)
    run = queries.run(session, done.run_id)
    assert run is not None
    return {"id": done.run_id, "state": done.state, "commit": run.commit_sha}


@router.post("/{stack_id:path}/unlock", responses=responses(403, 404, 409))
def unlock_stack(
    stack_id: str,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "unlocking a stack")],
) -> dict[str, Any]:
    done = settle(session, actions.unlock(session, stack_id, who), who)
    return {"stack": stack_id, "unlocked_from_run": done.run_id or None}


@router.post("/{stack_id:path}/state/recover", responses=responses(403, 404, 409, 422))
def recover_state(
    stack_id: str,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "recovering a stack's state")],
) -> dict[str, Any]:
    """Push the state an apply could not save as the stack's new version (admin)."""
    done = settle(session, actions.recover_state(session, stack_id, who, open_store().get), who)
    return {"stack": stack_id, "recovered_from_run": done.run_id or None}


class DriftIn(RequestBody):
    """An admin's override of a stack's `drift_detection`; null restores stackrun.hcl's."""

    schedules: list[str] = Field(default_factory=list)
    reconcile: bool = False


class StackPatch(RequestBody):
    drift_detection: DriftIn | None = None


@router.patch("/{stack_id:path}", responses=responses(403, 404, 422))
def patch_stack(
    stack_id: str,
    body: StackPatch,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "changing a stack's drift detection")],
) -> dict[str, Any]:
    stack = _stack(session, stack_id)
    detection = body.model_dump()["drift_detection"]
    invalid = overrides.override_drift(session, stack, detection, who.name)
    if invalid is not None:
        raise HTTPException(422, invalid)
    session.commit()
    return stack_view(stack)


@router.post("/{stack_id:path}/drift-check", status_code=201, responses=responses(403, 404, 409))
def drift_check(
    stack_id: str,
    session: SessionDep,
    who: Annotated[Principal, authorized("approver", "starting a drift check")],
) -> dict[str, Any]:
    """A drift check now, outside the schedule."""
    stack = _stack(session, stack_id)
    run_id = drift.start_check(session, stack, utcnow(), f"requested by {who.name}")
    if run_id is None:
        session.commit()
        raise HTTPException(409, f"stack {stack.id!r} has never been applied: nothing to check")
    audit(session, who.name, "stack.drift_check", f"stack:{stack.id}", {"run": run_id})
    session.commit()
    ring("plan_run", run_id, queue=stack.worker_pool)
    return {"stack": stack.id, "run": run_id}


@router.get("/{stack_id:path}/drift", responses=responses(404))
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
def list_stacks(
    session: SessionDep,
    who: PrincipalDep,
    limit: Annotated[int | None, Query(ge=1, le=5000, description=LIMIT)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_INTEGER, description=OFFSET)] = 0,
) -> list[dict[str, Any]]:
    """By id; every stack unless `limit` asks for a page."""
    return [stack_view(s) for s in stacks.stacks(session, limit, offset)]


@router.get("/{stack_id:path}", responses=responses(404))
def get_stack(stack_id: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    return stack_view(_stack(session, stack_id))
