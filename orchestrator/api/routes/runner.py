"""The door a worker uses for one run, with that run's credential: its environment (secrets
decrypted here, never in the worker) and its applied outputs (encrypted here)."""

from __future__ import annotations

import base64
import binascii
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException

from orchestrator import statestore
from orchestrator.api.deps import SessionDep
from orchestrator.models import Run
from orchestrator.runs import environment, outputs
from orchestrator.runs.state import RunState
from orchestrator.settings import get_settings
from orchestrator.variables.service import VariableUnreadable

router = APIRouter(prefix="/api/v1/runs", tags=["runner"])
NO_RUN_CREDENTIAL = "no valid credential for this run"


def _caller(session: SessionDep, run_id: int, authorization: str | None) -> Run:
    """The live run whose Basic-auth credential this is; the same 401 for anything else."""
    scheme, _, value = (authorization or "").partition(" ")
    username, password = "", ""
    if scheme.lower() == "basic":
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            username, _, password = base64.b64decode(value).decode().partition(":")
    run = session.get(Run, run_id)
    if run is not None and username == f"run-{run_id}":
        found = statestore.run_for_credential(session, run.stack_id, username, password)
        if found is not None:
            return found
    raise HTTPException(401, NO_RUN_CREDENTIAL, headers={"WWW-Authenticate": "Basic"})


@router.get("/{run_id}/environment")
def run_environment(
    run_id: int, session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    run = _caller(session, run_id, authorization)
    try:
        found = environment.for_run(session, run, get_settings())
    except VariableUnreadable as exc:
        raise HTTPException(409, str(exc)) from None
    return found.to_json()


@router.put("/{run_id}/outputs", status_code=204)
def applied_outputs(
    run_id: int,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """`terraform output -json` of an apply, kept for downstream stacks (sensitive values
    encrypted at rest); only while the run is APPLYING."""
    run = _caller(session, run_id, authorization)
    if run.state != RunState.APPLYING:
        raise HTTPException(409, f"run {run_id} is {run.state}; outputs come only from an apply")
    bad = [n for n, o in body.items() if not isinstance(o, dict) or "value" not in o]
    if bad:
        raise HTTPException(422, f"outputs must map names to {{value, sensitive}}: {bad[:5]}")
    outputs.store(session, run, body)
    session.commit()
