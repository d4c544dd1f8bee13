"""What a claimed run's procedure holds, shared by plan and apply: the run's inputs, the
artifact store, the masker and the run log, the lease that interrupts terraform when the run
ends under it, and the workspace removed when the procedure is done. Any fault of the
procedure fails the run with a message naming what was being done."""

from __future__ import annotations

import logging
from collections.abc import Callable

from orchestrator import worker_api
from orchestrator.settings import Settings, get_settings
from orchestrator.worker_api import (
    AssumeRoleFailed,
    Doorbell,
    Masker,
    RunInputs,
    RunMoved,
    RunState,
    VcsError,
)
from workers import api_client, checkout
from workers.runlog import RunLog
from workers.runtime import Lease
from workers.terraform import TerraformError
from workers.workspace import Workspace, prepare

log = logging.getLogger(__name__)


class StateNotSaved(Exception):
    """Terraform could not save the state of an apply; it is kept as the artifact `key`."""

    def __init__(self, reason: str, key: str) -> None:
        super().__init__(reason)
        self.key = key


Claim = Callable[[int, int], RunInputs | None]
Procedure = Callable[["RunContext"], list[Doorbell]]


def run_claimed(run_id: int, claim: Claim, procedure: Procedure, task: str) -> None:
    """Claim the run (`claim` from the worker door) and run `procedure` in its context; a run
    that is not claimable is left alone."""
    settings = get_settings()
    inputs = claim(run_id, settings.lease_seconds)
    if inputs is None:
        log.info("run=%s task=%s noop: not claimable", run_id, task)
        return
    RunContext(settings, inputs).run(procedure)


class RunContext:
    """One claimed run on this worker, from its claim to the cleanup of its workspace."""

    def __init__(self, settings: Settings, inputs: RunInputs) -> None:
        self.settings = settings
        self.inputs = inputs
        self.run_id = inputs.run_id
        self.store = worker_api.open_store(settings)
        self.masker = Masker()
        self.runlog = RunLog(self.store, inputs.run_id, self.masker)
        self.workspace: Workspace | None = None

    def prepare(self, phase: str) -> Workspace:
        """The run's workspace for `phase` (removed when the procedure is done)."""
        self.workspace = prepare(self.settings, self.inputs, phase, self.masker, self.runlog)
        return self.workspace

    def run(self, procedure: Procedure) -> None:
        """Run `procedure` under the run's lease, ring what it decided, clean up."""
        try:
            with Lease(self.run_id, self.settings.lease_seconds, self._interrupt):
                _guarded(self.run_id, lambda: procedure(self), self.runlog)
        finally:
            self.runlog.close()
            if self.workspace is not None:
                checkout.remove(self.workspace.root)

    def _interrupt(self, state: RunState) -> None:
        """SIGINT to a terraform that is still running; a run this worker ended itself has
        none."""
        terraform = self.workspace.terraform if self.workspace is not None else None
        if terraform is None or terraform.process is None:
            return
        why = "was stopped" if state == RunState.STOPPED else f"became {state} under this worker"
        self.runlog(f"stackrun: the run {why}: sending SIGINT to terraform")
        terraform.interrupt()


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
        bells = worker_api.state_not_saved(run_id, reason, exc.key)
    except (
        TerraformError,
        VcsError,
        OSError,
        ValueError,
        AssumeRoleFailed,
        api_client.ApiUnreachable,
    ) as exc:
        reason = runlog.masker(str(exc))
        runlog(f"stackrun: run failed: {reason}")
        bells = worker_api.fail(run_id, reason)
    except Exception as exc:
        reason = runlog.masker(f"internal error: {type(exc).__name__}: {exc}")
        log.exception("run=%s procedure crashed", run_id)
        bells = worker_api.fail(run_id, reason)
    worker_api.ring(bells)
