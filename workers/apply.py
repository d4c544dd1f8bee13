"""Applying a plan file in an initialised workspace: the approved plan of a run claimed for
apply, or the plan just made when autodeploy applies it in the planning workspace."""

from __future__ import annotations

import hashlib

from orchestrator import worker_api
from orchestrator.worker_api import Doorbell
from workers import api_client, checkout
from workers.context import RunContext, StateNotSaved, run_claimed
from workers.terraform import TerraformError
from workers.workspace import LOCK_TIMEOUT, PLAN_FILE, Workspace


def apply_run(run_id: int) -> None:
    """Claim a CONFIRMED run and apply its approved plan (checked by its sha256)."""
    run_claimed(run_id, worker_api.claim_for_apply, _apply_approved, "apply_run")


def _apply_approved(context: RunContext) -> list[Doorbell]:
    run_id, approved = context.run_id, context.inputs.plan_sha256
    context.runlog(
        f"stackrun: applying the approved plan of run {run_id} at {context.inputs.commit_sha}"
    )
    workspace = context.prepare("apply")
    worker_api.record_inputs_digest(run_id, workspace.inputs_digest)
    plan_bytes = context.store.get(worker_api.plan_key(run_id))
    digest = hashlib.sha256(plan_bytes).hexdigest()
    if digest != approved:
        raise ValueError(f"plan file checksum mismatch: stored {digest}, approved {approved}")
    checkout.write_new(workspace.terraform.workdir / PLAN_FILE, plan_bytes)
    workspace.init(context.settings)
    return apply_plan(context, workspace)


def apply_now(
    context: RunContext, workspace: Workspace, digest: str, bells: list[Doorbell]
) -> list[Doorbell]:
    """Autodeploy: the plan just made is applied in the same workspace, without a second
    checkout and init. The apply is still claimed by compare-and-set like any other."""
    run_id = context.run_id
    own = [b for b in bells if b.task == "apply_run" and b.target_id == run_id]
    if not own:
        return bells
    others = [b for b in bells if b not in own]
    claimed = worker_api.claim_for_apply(
        run_id, context.settings.lease_seconds, in_planning_workspace=True
    )
    if claimed is None or claimed.plan_sha256 != digest:
        return others
    context.runlog(f"stackrun: autodeploy: applying plan sha256={digest} in the planning workspace")
    return others + apply_plan(context, workspace)


def apply_plan(context: RunContext, workspace: Workspace) -> list[Doorbell]:
    """Apply the plan file in an initialised workspace, keep the outputs (through the API,
    which encrypts the sensitive ones), finish the run."""
    terraform, inputs = workspace.terraform, context.inputs
    try:
        terraform.run(
            "apply", "-input=false", "-no-color", "-auto-approve", LOCK_TIMEOUT, PLAN_FILE
        )
    except TerraformError as exc:
        reason = _keep_errored_state(context, workspace, str(exc))
        raise TerraformError(reason) from None
    managed = (
        worker_api.managed_outputs(inputs.stack_id, inputs.run_id) if inputs.managed_state else None
    )
    applied = managed if managed is not None else terraform.capture_json("output", "-json")
    api_client.store_outputs(context.settings, inputs.run_id, workspace.credential, applied)
    return worker_api.record_apply(inputs.run_id)


def _keep_errored_state(context: RunContext, workspace: Workspace, reason: str) -> str:
    """Terraform writes errored.tfstate when it cannot save state: never lose it (raises
    StateNotSaved once it is stored)."""
    try:
        content = checkout.read_result(
            workspace.root, workspace.terraform.workdir / "errored.tfstate"
        )
    except FileNotFoundError:
        return reason
    key = f"runs/{context.run_id}/errored.tfstate"
    context.store.put(key, content)
    raise StateNotSaved(
        f"{reason} (terraform could not save its state; it is kept as artifact {key}: "
        "the stack stays locked until an admin recovers it with "
        "POST /api/v1/stacks/{id}/state/recover)",
        key,
    )
