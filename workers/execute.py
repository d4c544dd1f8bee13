"""The plan and apply procedures of a run (each through a RunContext); every state change is
reported through the orchestrator's worker door (orchestrator/runs/worker_api.py)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from orchestrator import worker_api
from orchestrator.settings import get_settings
from orchestrator.worker_api import Doorbell, RunInputs, RunState
from workers import checkout
from workers.apply import apply_now, apply_run
from workers.context import RunContext, run_claimed
from workers.terraform import Terraform, TerraformError
from workers.workspace import LOCK_TIMEOUT, PLAN_FILE, Workspace

__all__ = ["apply_run", "plan_claimed", "plan_run"]


def plan_run(run_id: int) -> None:
    """Skip a run whose inputs did not change, or claim a QUEUED run and plan it."""
    run_claimed(run_id, worker_api.claim_for_plan, _plan, "plan_run")


def plan_claimed(inputs: RunInputs) -> None:
    """Plan a run claimed for this worker already (the first run of the push it processed)."""
    RunContext(get_settings(), inputs).run(_plan)


def _plan(context: RunContext) -> list[Doorbell]:
    """Init, plan and keep the plan; the policies judge it; autodeploy may apply it here."""
    run_id, inputs, runlog = context.run_id, context.inputs, context.runlog
    runlog(f"stackrun: planning {inputs.stack_id} at {inputs.commit_sha} ({inputs.kind})")
    workspace = context.prepare("plan")
    worker_api.step(
        run_id, RunState.INITIALIZING, RunState.PREPARING, "init", workspace.inputs_digest
    )
    workspace.init(context.settings)
    worker_api.step(run_id, RunState.PLANNING, RunState.INITIALIZING, "plan")
    _terraform_plan(workspace, inputs.managed_state)
    plan_json, digest = _keep_plan(context, workspace)
    summary = worker_api.summarize(plan_json)
    runlog(f"stackrun: plan {summary} sha256={digest}")
    verdict = worker_api.judge_plan(run_id, plan_json, summary)
    for line in verdict.lines:
        runlog(line)
    bells = worker_api.record_plan(run_id, plan_json, summary, digest, verdict)
    if verdict.denied_reason is not None:
        return bells
    return apply_now(context, workspace, digest, bells)


def _terraform_plan(workspace: Workspace, managed_state: bool) -> None:
    """terraform plan; the failure of a run that was denied secrets says so."""
    try:
        workspace.terraform.run(
            "plan",
            "-input=false",
            "-no-color",
            f"-out={PLAN_FILE}",
            "-detailed-exitcode",
            _plan_lock_flag(managed_state),
            *workspace.var_file_args,
            ok_codes=(0, 2),
        )
    except TerraformError as exc:
        if not workspace.withheld:
            raise
        raise TerraformError(f"{exc}{worker_api.missing_secret_hint(workspace.withheld)}") from None


def _plan_lock_flag(managed_state: bool) -> str:
    """A plan never writes state. Managed state is written only by stackrun's own applies, which
    the stack lock keeps apart from tracked plans; so a managed plan takes no state lock (two
    requests fewer) and a proposed plan never waits on a long apply. Stacks with their own
    backend may share it with other tools and keep Terraform's lock."""
    return "-lock=false" if managed_state else LOCK_TIMEOUT


def _keep_plan(context: RunContext, workspace: Workspace) -> tuple[dict[str, Any], str]:
    """The plan file and its JSON kept as the run's artifacts; the JSON and the file's sha256."""
    terraform: Terraform = workspace.terraform
    plan_json = terraform.capture_json("show", "-json", PLAN_FILE)
    plan_bytes = checkout.read_result(workspace.root, terraform.workdir / PLAN_FILE)
    digest = hashlib.sha256(plan_bytes).hexdigest()
    context.store.put(worker_api.plan_key(context.run_id), plan_bytes)
    context.store.put(worker_api.plan_json_key(context.run_id), json.dumps(plan_json).encode())
    return plan_json, digest
