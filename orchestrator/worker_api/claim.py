"""Claiming a run for a worker: the claim, the run's inputs and a fresh credential in one
transaction; and a push's first run claimed in the push's own transaction, so the worker that
processed the push plans it at once (no doorbell, no second transaction, no second graph)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from orchestrator.graphstore import gate
from orchestrator.models import Run
from orchestrator.runs import claims, service
from orchestrator.runs.pushes import Handled
from orchestrator.runs.queue import DEFAULT_QUEUE, Doorbell
from orchestrator.worker_api.inputs import RunInputs, load

log = logging.getLogger(__name__)


def claim_in(
    session: Session,
    claim: Callable[[Session, int, int], Run | None],
    run_id: int,
    lease_seconds: int,
    issue_credential: bool = True,
) -> RunInputs | None:
    """The claim, the run's inputs and (`issue_credential`) a new credential for the API and
    managed state (only its hash is kept), in the session's transaction."""
    if claim(session, run_id, lease_seconds) is None:
        return None
    if not issue_credential:
        return load(session, run_id)
    return load(session, run_id, service.issue_run_credential(session, run_id))


def plan_claim_in(
    session: Session, run_id: int, lease_seconds: int
) -> tuple[RunInputs | None, list[Doorbell] | None]:
    """A run that only an upstream reached, whose inputs are those of the stack's last
    finished run, is SKIPPED (its doorbells returned); any other QUEUED run goes to PREPARING
    under a lease with a credential of its own."""
    skipped = claims.skip_if_inputs_unchanged(session, run_id)
    if skipped is not None:
        return None, skipped
    return claim_in(session, claims.claim_for_plan, run_id, lease_seconds), None


def first_run(
    session: Session, handled: Handled, lease_seconds: int
) -> tuple[RunInputs | None, list[Doorbell]]:
    """Claim the first run the push rang for on the default queue (the queue of the worker
    processing the push: a stack of another pool stays with its own workers), with what the
    push's graph says of its stack; the doorbells left to ring. In a savepoint: a claim that
    fails leaves the push as it was, and the doorbell is rung as before."""
    bells = list(handled.bells)
    index = _first_plan_bell(bells, handled.run_ids)
    if index is None or handled.graph is None:
        return None, bells
    bell = bells[index]
    try:
        with session.begin_nested():
            inputs, skipped = plan_claim_in(session, bell.target_id, lease_seconds)
    except Exception:
        log.exception("run=%s claiming it with its push failed; its doorbell rings", bell.target_id)
        return None, bells
    if inputs is None:
        return None, bells + (skipped or [])
    at_commit = gate.stack_in(handled.graph, inputs.stack_address)
    del bells[index]
    return dataclasses.replace(inputs, at_commit=at_commit), bells


def _first_plan_bell(bells: Sequence[Doorbell], run_ids: Sequence[int]) -> int | None:
    mine = set(run_ids)
    for index, bell in enumerate(bells):
        if bell.task == "plan_run" and bell.queue == DEFAULT_QUEUE and bell.target_id in mine:
            return index
    return None
