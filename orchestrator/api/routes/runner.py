"""The door a worker uses for one run, with that run's credential: its environment (secrets
decrypted here, never in the worker) and its applied outputs (encrypted here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException
from pydantic import ConfigDict

from orchestrator import securitylog, statestore
from orchestrator.api.deps import Id, RequestBody, SessionDep
from orchestrator.api.errors import responses
from orchestrator.api.security import RUN_CREDENTIAL, BasicCredential
from orchestrator.models import Run
from orchestrator.runs import environment, outputs, queries
from orchestrator.runstate import RunState
from orchestrator.settings import get_settings
from orchestrator.variables.service import VariableUnreadable

router = APIRouter(prefix="/api/v1/runs", tags=["runner"], responses=responses(401))
NO_RUN_CREDENTIAL = "no valid credential for this run"
RunCredentialDep = Annotated[BasicCredential | None, Depends(RUN_CREDENTIAL)]


class OutputIn(RequestBody):
    """One output of `terraform output -json`."""

    model_config = ConfigDict(extra="allow")

    value: Any
    sensitive: bool = False


def _caller(session: SessionDep, run_id: int, basic: BasicCredential | None) -> Run:
    """The live run whose Basic-auth credential this is; the same 401 for anything else."""
    run = queries.run(session, run_id)
    if run is not None and basic is not None and basic.username == f"run-{run_id}":
        found = statestore.run_for_credential(session, run.stack_id, basic.username, basic.password)
        if found is not None:
            return found
    securitylog.refused(
        securitylog.BAD_RUN_CREDENTIAL,
        "no live run owns this credential",
        run=run_id,
        user=basic.username if basic is not None else None,
    )
    raise HTTPException(401, NO_RUN_CREDENTIAL, headers={"WWW-Authenticate": "Basic"})


@router.get("/{run_id}/environment", responses=responses(409))
def run_environment(run_id: Id, session: SessionDep, basic: RunCredentialDep) -> dict[str, Any]:
    run = _caller(session, run_id, basic)
    try:
        found = environment.for_run(session, run, get_settings())
    except VariableUnreadable as exc:
        raise HTTPException(409, str(exc)) from None
    return found.to_json()


@router.put("/{run_id}/outputs", status_code=204, responses=responses(409, 422))
def applied_outputs(
    run_id: Id,
    session: SessionDep,
    body: Annotated[dict[str, OutputIn], Body()],
    basic: RunCredentialDep,
) -> None:
    """`terraform output -json` of an apply, kept for downstream stacks (sensitive values
    encrypted at rest); only while the run is APPLYING."""
    run = _caller(session, run_id, basic)
    if run.state != RunState.APPLYING:
        raise HTTPException(409, f"run {run_id} is {run.state}; outputs come only from an apply")
    outputs.store(session, run, {name: output.model_dump() for name, output in body.items()})
    session.commit()
