"""The plan and apply procedures; every state change is reported through orchestrator.runs."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator import plans, statestore
from orchestrator.artifacts.store import (
    ArtifactStore,
    open_store,
    plan_json_key,
    plan_key,
)
from orchestrator.aws import sts
from orchestrator.db import session_scope
from orchestrator.graph import hcl
from orchestrator.graph.facts import STACK_FILE
from orchestrator.models import Repository, Run, Stack
from orchestrator.policy import gates
from orchestrator.runs import claims, outcomes, service
from orchestrator.runs.claims import RunMoved
from orchestrator.runs.queue import Doorbell, ring_all
from orchestrator.runstate import RunState
from orchestrator.secrets.masking import Masker
from orchestrator.settings import Settings, get_settings
from orchestrator.toolchain import resolve_terraform
from orchestrator.trust import missing_secret_hint, redact_state
from orchestrator.vcs.mirror import VcsError
from workers import api_client, checkout, environment
from workers.runtime import Lease, RunLog, plugin_cache, plugin_cache_lock
from workers.sandbox import confine
from workers.terraform import Terraform, TerraformError, base_environment

log = logging.getLogger(__name__)
PLAN_FILE = "stackrun.tfplan"
LOCK_TIMEOUT = "-lock-timeout=60s"


def _load(run_id: int) -> tuple[Run, Stack, Repository]:
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        stack = session.get(Stack, run.stack_id)
        assert stack is not None
        repository = session.get(Repository, stack.repository_id)
        assert repository is not None
        return run, stack, repository


@dataclass(frozen=True)
class Prepared:
    root: Path
    terraform: Terraform
    withheld: tuple[str, ...]
    credential: str


def _prepare(
    settings: Settings,
    run: Run,
    stack: Stack,
    repository: Repository,
    phase: str,
    masker: Masker,
    runlog: RunLog,
) -> Prepared:
    """The run's workspace and its terraform, with what an untrusted run was not given."""
    root = checkout.checkout(settings, repository, run, phase, stack.path)
    directory = checkout.stack_dir(root, stack)
    if not directory.is_dir():
        raise VcsError(f"stack directory {stack.path} does not exist at commit {run.commit_sha}")
    _check_stack_file(directory, stack)
    with session_scope() as session:
        credential = service.issue_run_credential(session, run.id)
    masker.add(credential)
    if stack.managed_state:
        address = checkout.state_address(settings, stack)
        checkout.wire_managed_state(directory, address, run.id)
        runlog(f"state: managed by stackrun at {address}")
    env = base_environment({"TF_PLUGIN_CACHE_DIR": str(plugin_cache(settings))})
    if stack.managed_state:
        env["TF_HTTP_PASSWORD"] = credential
    granted = environment.assemble(settings, run, stack, credential, masker, runlog)
    env.update(granted.env)
    _write_upstream_local_states(root, stack, runlog, granted.trusted)
    binary = resolve_terraform(settings.terraform_bin)
    confinement = confine(settings, root, directory, Path(binary), env)
    runlog(f"stackrun: {confinement.sandbox.describe()}")
    terraform = Terraform(binary, directory, env, runlog, confinement)
    return Prepared(root, terraform, granted.withheld, credential)


def _interrupt(running: list[Terraform], runlog: RunLog, state: RunState) -> None:
    """SIGINT to a terraform that is still running; a run this worker ended itself has none."""
    if not any(t.process is not None for t in running):
        return
    why = "was stopped" if state == RunState.STOPPED else f"became {state} under this worker"
    runlog(f"stackrun: the run {why}: sending SIGINT to terraform")
    for terraform in running:
        terraform.interrupt()


def _write_upstream_local_states(root: Path, stack: Stack, runlog: RunLog, trusted: bool) -> None:
    """A stack that reads a managed upstream through backend "local" finds that upstream's
    current state at the path it names (DESIGN §3), so local-state monorepos work as written;
    an untrusted run finds it with the sensitive values withheld."""
    for read in stack.local_state_reads or []:
        target = (root / read["path"]).resolve()
        if not target.is_relative_to(root.resolve()):
            continue
        with session_scope() as session:
            version = statestore.latest(session, read["stack"])
            content = version.content if version is not None else None
        if content is None:
            runlog(f"stackrun: {read['stack']} has no state yet; {read['path']} is left absent")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        checkout.write_new(target, content if trusted else redact_state(content))
        runlog(f"stackrun: wrote the current state of {read['stack']} to {read['path']}")


def _check_stack_file(directory: Path, stack: Stack) -> None:
    """A stackrun.hcl that does not parse fails the run with the parser's message."""
    stack_file = directory / STACK_FILE
    if not stack_file.is_file():
        return
    shown = STACK_FILE if stack.path == "." else f"{stack.path}/{STACK_FILE}"
    parsed = hcl.parse(stack_file.read_text(errors="replace"), shown)
    if isinstance(parsed, hcl.HclError):
        raise ValueError(f"parsing {parsed}")


def _guarded(run_id: int, body: Callable[[], list[Doorbell]], runlog: RunLog) -> None:
    """Run a procedure; any fault fails the run with a message naming what was being done."""
    try:
        bells = body()
    except RunMoved as exc:
        runlog(f"stackrun: run left the expected state: {exc}")
        bells = []
    except StateNotSaved as exc:
        reason = runlog.masker(str(exc))
        runlog(f"stackrun: run failed: {reason}")
        with session_scope() as session:
            bells = outcomes.state_not_saved(session, run_id, reason, exc.key)
    except (
        TerraformError,
        VcsError,
        OSError,
        ValueError,
        sts.AssumeRoleFailed,
        api_client.ApiUnreachable,
    ) as exc:
        reason = runlog.masker(str(exc))
        runlog(f"stackrun: run failed: {reason}")
        with session_scope() as session:
            bells = outcomes.fail(session, run_id, reason)
    except Exception as exc:
        reason = runlog.masker(f"internal error: {type(exc).__name__}: {exc}")
        log.exception("run=%s procedure crashed", run_id)
        with session_scope() as session:
            bells = outcomes.fail(session, run_id, reason)
    ring_all(bells)


def plan_run(run_id: int) -> None:
    settings = get_settings()
    with session_scope() as session:
        skipped = claims.skip_if_inputs_unchanged(session, run_id)
    if skipped is not None:
        ring_all(skipped)
        return
    with session_scope() as session:
        claimed = claims.claim_for_plan(session, run_id, settings.lease_seconds)
    if claimed is None:
        log.info("run=%s task=plan_run noop: not claimable", run_id)
        return
    run, stack, repository = _load(run_id)
    store = open_store(settings)
    masker = Masker()
    runlog = RunLog(store, run_id, masker)
    root: Path | None = None
    running: list[Terraform] = []

    def body() -> list[Doorbell]:
        nonlocal root
        runlog(f"stackrun: planning {stack.id} at {run.commit_sha} ({run.kind})")
        prepared = _prepare(settings, run, stack, repository, "plan", masker, runlog)
        root, terraform = prepared.root, prepared.terraform
        running.append(terraform)
        with session_scope() as session:
            claims.move(session, run_id, RunState.INITIALIZING, RunState.PREPARING, "init")
        with plugin_cache_lock(settings):
            terraform.run(*_init_args(terraform))
        with session_scope() as session:
            claims.move(session, run_id, RunState.PLANNING, RunState.INITIALIZING, "plan")
        _plan(terraform, stack, prepared.withheld)
        plan_json = terraform.capture_json("show", "-json", PLAN_FILE)
        plan_bytes = checkout.read_result(root, terraform.workdir / PLAN_FILE)
        digest = hashlib.sha256(plan_bytes).hexdigest()
        store.put(plan_key(run_id), plan_bytes)
        store.put(plan_json_key(run_id), json.dumps(plan_json).encode())
        summary = plans.summarize(plan_json)
        runlog(f"stackrun: plan {summary} sha256={digest}")
        gate = gates.after_plan(run_id, plan_json, summary)
        _log_policies(runlog, gate)
        with session_scope() as session:
            if gate.denied_reason is not None:
                service.update_run_fields(
                    session,
                    run_id,
                    plan_summary=summary,
                    resource_changes=plans.resource_changes(plan_json),
                )
                return outcomes.fail(session, run_id, gate.denied_reason)
            bells = outcomes.plan_done(
                session,
                run_id,
                summary,
                plans.resource_changes(plan_json),
                digest,
                plans.changed_outputs(plan_json),
                needs_human=gate.plan.decision == "warn",
                approved=gate.approval is None or gate.approval.decision == "approve",
            )
        return _apply_now(settings, store, run_id, prepared, digest, bells, runlog, stack)

    try:
        with Lease(
            run_id, settings.lease_seconds, lambda state: _interrupt(running, runlog, state)
        ):
            _guarded(run_id, body, runlog)
    finally:
        runlog.close()
        if root is not None:
            checkout.remove(root)


def _plan(terraform: Terraform, stack: Stack, withheld: tuple[str, ...]) -> None:
    """terraform plan; the failure of a run that was denied secrets says so."""
    try:
        terraform.run(
            "plan",
            "-input=false",
            "-no-color",
            f"-out={PLAN_FILE}",
            "-detailed-exitcode",
            _plan_lock_flag(stack),
            ok_codes=(0, 2),
        )
    except TerraformError as exc:
        if not withheld:
            raise
        raise TerraformError(f"{exc}{missing_secret_hint(withheld)}") from None


def _plan_lock_flag(stack: Stack) -> str:
    """A plan never writes state. Managed state is written only by stackrun's own applies, which
    the stack lock keeps apart from tracked plans; so a managed plan takes no state lock (two
    requests fewer) and a proposed plan never waits on a long apply. Stacks with their own
    backend may share it with other tools and keep Terraform's lock."""
    return "-lock=false" if stack.managed_state else LOCK_TIMEOUT


def _log_policies(runlog: RunLog, gate: gates.PlanGate) -> None:
    results = [*gate.plan.results, *(gate.approval.results if gate.approval else ())]
    for result in results:
        said = "; ".join(result.messages)
        runlog(
            f"policy: {result.policy} v{result.version} ({result.type}) → {result.result}"
            + (f": {said}" if said else "")
        )


def _init_args(terraform: Terraform) -> list[str]:
    args = ["init", "-input=false", "-no-color"]
    if (terraform.workdir / checkout.BACKEND_CONFIG).exists():
        args.append(f"-backend-config={checkout.BACKEND_CONFIG}")
    return args


class StateNotSaved(Exception):
    """Terraform could not save the state of an apply; it is kept as the artifact `key`."""

    def __init__(self, reason: str, key: str) -> None:
        super().__init__(reason)
        self.key = key


def _keep_errored_state(
    store: ArtifactStore, run_id: int, root: Path, terraform: Terraform, reason: str
) -> str:
    """Terraform writes errored.tfstate when it cannot save state: never lose it (raises
    StateNotSaved once it is stored)."""
    try:
        content = checkout.read_result(root, terraform.workdir / "errored.tfstate")
    except FileNotFoundError:
        return reason
    key = f"runs/{run_id}/errored.tfstate"
    store.put(key, content)
    raise StateNotSaved(
        f"{reason} (terraform could not save its state; it is kept as artifact {key}: "
        "the stack stays locked until an admin recovers it with "
        "POST /api/v1/stacks/{id}/state/recover)",
        key,
    )


def _apply_plan(
    settings: Settings, store: ArtifactStore, run_id: int, prepared: Prepared, stack: Stack
) -> list[Doorbell]:
    """Apply the plan file in an initialised workspace, keep the outputs (through the API,
    which encrypts the sensitive ones), finish the run."""
    terraform = prepared.terraform
    try:
        terraform.run(
            "apply", "-input=false", "-no-color", "-auto-approve", LOCK_TIMEOUT, PLAN_FILE
        )
    except TerraformError as exc:
        reason = _keep_errored_state(store, run_id, prepared.root, terraform, str(exc))
        raise TerraformError(reason) from None
    with session_scope() as session:
        managed = statestore.outputs_of(session, stack.id, run_id) if stack.managed_state else None
    applied_outputs = managed if managed is not None else terraform.capture_json("output", "-json")
    api_client.store_outputs(settings, run_id, prepared.credential, applied_outputs)
    with session_scope() as session:
        return outcomes.apply_done(session, run_id)


def _apply_now(
    settings: Settings,
    store: ArtifactStore,
    run_id: int,
    prepared: Prepared,
    digest: str,
    bells: list[Doorbell],
    runlog: RunLog,
    stack: Stack,
) -> list[Doorbell]:
    """Autodeploy: the plan just made is applied in the same workspace, without a second
    checkout and init. The apply is still claimed by compare-and-set like any other."""
    own = [b for b in bells if b.task == "apply_run" and b.target_id == run_id]
    if not own:
        return bells
    others = [b for b in bells if b not in own]
    with session_scope() as session:
        claimed = claims.claim_for_apply(session, run_id, settings.lease_seconds)
    if claimed is None or claimed.plan_sha256 != digest:
        return others
    runlog(f"stackrun: autodeploy: applying plan sha256={digest} in the planning workspace")
    return others + _apply_plan(settings, store, run_id, prepared, stack)


def apply_run(run_id: int) -> None:
    settings = get_settings()
    with session_scope() as session:
        claimed = claims.claim_for_apply(session, run_id, settings.lease_seconds)
    if claimed is None:
        log.info("run=%s task=apply_run noop: not claimable", run_id)
        return
    run, stack, repository = _load(run_id)
    store = open_store(settings)
    masker = Masker()
    runlog = RunLog(store, run_id, masker)
    root: Path | None = None
    running: list[Terraform] = []

    def body() -> list[Doorbell]:
        nonlocal root
        runlog(f"stackrun: applying the approved plan of run {run_id} at {run.commit_sha}")
        prepared = _prepare(settings, run, stack, repository, "apply", masker, runlog)
        root, terraform = prepared.root, prepared.terraform
        running.append(terraform)
        plan_bytes = store.get(plan_key(run_id))
        digest = hashlib.sha256(plan_bytes).hexdigest()
        if digest != run.plan_sha256:
            raise ValueError(
                f"plan file checksum mismatch: stored {digest}, approved {run.plan_sha256}"
            )
        checkout.write_new(terraform.workdir / PLAN_FILE, plan_bytes)
        with plugin_cache_lock(settings):
            terraform.run(*_init_args(terraform))
        return _apply_plan(settings, store, run_id, prepared, stack)

    try:
        with Lease(
            run_id, settings.lease_seconds, lambda state: _interrupt(running, runlog, state)
        ):
            _guarded(run_id, body, runlog)
    finally:
        runlog.close()
        if root is not None:
            checkout.remove(root)
