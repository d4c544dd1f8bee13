"""The hand-off (DESIGN §8): once a pipeline that applied the platform's final stack has
finished, its cluster is published to the GitOps repository and, with an Argo CD server
configured, synced there. It never changes a run: the stack's runs stay FINISHED."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import outbox
from orchestrator.db import session_scope
from orchestrator.handoff import gitops
from orchestrator.handoff.argocd_api import ArgoCDClient, ArgoCDError
from orchestrator.handoff.credentials import token_for
from orchestrator.handoff.render import Rendered, render, validation_errors
from orchestrator.handoff.retired import previously_written
from orchestrator.handoff.spec import HandoffSpec, bridge_from_outputs
from orchestrator.handoff.views import view as handoff_view
from orchestrator.models import Handoff, Pipeline, Repository, Run, Stack, utcnow
from orchestrator.notifications import service as notifications
from orchestrator.runs import outputs
from orchestrator.runstate import RunKind, RunState
from orchestrator.settings import Settings

log = logging.getLogger(__name__)

PENDING = "pending"
COMMITTED = "committed"
UNCHANGED = "unchanged"
SYNCED = "synced"
FAILED = "failed"
BRIDGE_OUTPUT = "gitops_bridge"


def final_run(session: Session, pipeline_id: int) -> Run | None:
    """The pipeline's TRACKED run of a stack that declares a hand-off, if it has one (its
    latest attempt: a plan whose worker was lost is planned again in the same pipeline)."""
    return session.scalars(
        select(Run)
        .join(Stack, Stack.id == Run.stack_id)
        .where(
            Run.pipeline_id == pipeline_id,
            Run.kind == RunKind.TRACKED,
            Stack.handoff.is_not(None),
        )
        .order_by(Run.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    ).first()


def lock_pipeline(session: Session, pipeline_id: int) -> None:
    """Serialise the last runs of a pipeline finishing at once: exactly one of them sees the
    pipeline complete and starts its hand-off."""
    session.execute(select(Pipeline.id).where(Pipeline.id == pipeline_id).with_for_update())


def start_once(session: Session, run: Run) -> Handoff | None:
    """The pipeline's first hand-off, pending; None when it already has one."""
    assert run.pipeline_id is not None
    if session.scalar(select(Handoff.id).where(Handoff.pipeline_id == run.pipeline_id).limit(1)):
        return None
    return _create(session, run, "stackrun")


def _create(session: Session, run: Run, actor: str) -> Handoff | None:
    stack = session.get(Stack, run.stack_id)
    if stack is None or stack.handoff is None or run.pipeline_id is None:
        return None
    row = Handoff(
        pipeline_id=run.pipeline_id,
        run_id=run.id,
        stack_id=stack.id,
        status=PENDING,
        spec=dict(stack.handoff),
        triggered_by=actor,
        message="waiting for a worker",
    )
    session.add(row)
    session.flush()
    log.info("handoff=%s pipeline=%s run=%s status=pending", row.id, run.pipeline_id, run.id)
    return row


@dataclass(frozen=True)
class Refused:
    status: int
    reason: str


def retry(session: Session, pipeline_id: int, actor: str) -> Handoff | Refused:
    """A new attempt for a pipeline whose final stack's run FINISHED; refused while an
    attempt is still pending, or when a later pipeline has handed the stack off since."""
    if session.get(Pipeline, pipeline_id) is None:
        return Refused(404, f"pipeline {pipeline_id} does not exist")
    run = final_run(session, pipeline_id)
    if run is None:
        return Refused(
            409, f'pipeline {pipeline_id} has no tracked run of a stack with a handoff "argocd"'
        )
    if run.state != RunState.FINISHED:
        return Refused(
            409,
            f"run {run.id} of stack {run.stack_id!r} is {run.state}; only a FINISHED run "
            "is handed off",
        )
    lock_pipeline(session, pipeline_id)
    pending = session.scalar(
        select(Handoff.id).where(Handoff.pipeline_id == pipeline_id, Handoff.status == PENDING)
    )
    if pending is not None:
        return Refused(409, f"hand-off {pending} of pipeline {pipeline_id} is still pending")
    newer = session.scalar(
        select(Handoff.pipeline_id)
        .where(Handoff.stack_id == run.stack_id, Handoff.pipeline_id > pipeline_id)
        .order_by(Handoff.pipeline_id.desc())
        .limit(1)
    )
    if newer is not None:
        return Refused(
            409, f"pipeline {newer} has handed stack {run.stack_id!r} off since; retry that one"
        )
    row = _create(session, run, actor)
    if row is None:
        return Refused(409, f"stack {run.stack_id!r} no longer declares a hand-off")
    return row


@dataclass(frozen=True)
class Job:
    """Everything a hand-off needs, read in one short transaction."""

    handoff_id: int
    pipeline_id: int
    run_id: int
    commit_sha: str
    stack_id: str
    stack_name: str
    repository: str
    repository_id: int
    spec: HandoffSpec
    outputs: dict[str, Any] | None
    sensitive: frozenset[str]
    retired: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str
    gitops_commit: str | None = None
    argocd_app: str | None = None
    written_files: tuple[str, ...] | None = None


def claim(session: Session, handoff_id: int) -> Job | None:
    """Start a pending hand-off (compare-and-set on started_at); None when it is not pending
    or another worker started it (a redelivered task does nothing)."""
    pending = (Handoff.id == handoff_id, Handoff.status == PENDING, Handoff.started_at.is_(None))
    started = {"started_at": utcnow(), "message": "in progress"}
    if not outbox.take(session, Handoff, pending, started):
        return None
    row = session.get(Handoff, handoff_id, populate_existing=True)
    assert row is not None
    run = session.get(Run, row.run_id)
    stack = session.get(Stack, row.stack_id)
    assert run is not None and stack is not None
    repository = session.get(Repository, stack.repository_id)
    stored = outputs.stored(session, stack.id)
    return Job(
        handoff_id=row.id,
        pipeline_id=row.pipeline_id,
        run_id=run.id,
        commit_sha=run.commit_sha,
        stack_id=stack.id,
        stack_name=stack.name,
        repository=repository.name if repository else "",
        repository_id=stack.repository_id,
        spec=HandoffSpec.from_json(row.spec),
        outputs=stored[0] if stored else None,
        sensitive=stored[1] if stored else frozenset(),
        retired=previously_written(session, row),
    )


def perform(handoff_id: int, settings: Settings) -> None:
    """The `handoff` task: claim, do the work outside any transaction, record the outcome."""

    def claimed(session: Session) -> list[Job]:
        job = claim(session, handoff_id)
        return [] if job is None else [job]

    def attempt(job: Job) -> Outcome:
        try:
            return execute(job, settings)
        except Exception as exc:
            log.exception("handoff=%s failed unexpectedly", handoff_id)
            return Outcome(FAILED, f"hand-off failed unexpectedly: {type(exc).__name__}: {exc}")

    if not outbox.deliver(session_scope, claimed, attempt, finish):
        log.info("handoff=%s noop: not pending or already started", handoff_id)


def reap(
    session: Session, now: datetime, unclaimed_after: float, lost_after: float
) -> list[tuple[int, str]]:
    """Pending hand-offs nobody claimed get rung again (id, worker pool); one started longer
    ago than any hand-off can take lost its worker and fails."""
    lost = session.scalars(
        select(Handoff).where(
            Handoff.status == PENDING,
            Handoff.started_at.is_not(None),
            outbox.older_than(Handoff.started_at, now, lost_after),
        )
    )
    for row in lost:
        row.status = FAILED
        row.message = "worker_lost: the worker doing the hand-off stopped answering; retry it"
        row.finished_at = now
    unclaimed = select(Handoff.id, Stack.worker_pool).join(Stack, Stack.id == Handoff.stack_id)
    return [
        (handoff_id, pool)
        for handoff_id, pool in session.execute(
            unclaimed.where(
                Handoff.status == PENDING,
                Handoff.started_at.is_(None),
                outbox.older_than(Handoff.created_at, now, unclaimed_after),
            )
        )
    ]


def execute(job: Job, settings: Settings) -> Outcome:
    """Render, validate, publish to Git, then (with a server) upsert and wait in Argo CD."""
    rendered = _rendered(job)
    if isinstance(rendered, Outcome):
        return rendered
    message = _commit_message(job, rendered)
    folder = rendered.files[0].path.rsplit("/", 1)[0]
    workdir = _workdir(settings, job.spec)
    try:
        published = gitops.publish(
            job.spec.repository,
            job.spec.branch,
            folder,
            rendered.files,
            message,
            workdir,
            retired=job.retired,
        )
    except gitops.GitopsError as exc:
        return Outcome(FAILED, f"publishing to the GitOps repository: {exc}")
    where = f"{published.commit[:12]} on {job.spec.branch} of the GitOps repository"
    done = (
        f"committed {where}"
        if published.status == COMMITTED
        else f"no change: the files are already at {where}"
    )
    files = published.files
    if job.spec.server is None:
        return Outcome(published.status, done, published.commit, rendered.app_name, files)
    synced = _sync(job, rendered, settings)
    status = published.status if synced.status == PENDING else synced.status
    message = f"{done}; {synced.message}"
    return Outcome(status, message, published.commit, rendered.app_name, files)


def _rendered(job: Job) -> Rendered | Outcome:
    stack = f"stack {job.stack_name!r}"
    if job.outputs is None:
        return Outcome(
            FAILED,
            f"reading the outputs of {stack}: none stored (it has never applied); "
            f'declare output "{BRIDGE_OUTPUT}" and apply it',
        )
    if BRIDGE_OUTPUT in job.sensitive:
        return Outcome(
            FAILED,
            f"output {BRIDGE_OUTPUT} of {stack} is sensitive: its values would be committed to "
            "Git in clear text; keep secrets out of it and drop `sensitive = true`",
        )
    bridge, errors = bridge_from_outputs(job.outputs)
    if bridge is None:
        return Outcome(FAILED, f"reading output {BRIDGE_OUTPUT} of {stack}: " + "; ".join(errors))
    rendered = render(job.spec, bridge, stack=job.stack_id, repository=job.repository)
    problems = [p for f in rendered.files for p in validation_errors(f.document)]
    if problems:
        why = "; ".join(problems)
        return Outcome(FAILED, f"validating the rendered files against Argo CD's schemas: {why}")
    return rendered


def _commit_message(job: Job, rendered: Rendered) -> str:
    return (
        f"stackrun: hand off {rendered.app_name} ({rendered.root_kind})\n\n"
        f"pipeline {job.pipeline_id}, run {job.run_id}, commit {job.commit_sha}\n"
        f"stack {job.stack_name} ({job.stack_id}) of {job.repository}\n"
    )


def _sync(job: Job, rendered: Rendered, settings: Settings) -> Outcome:
    server = job.spec.server
    assert server is not None
    secret = settings.argocd_token.get_secret_value() if settings.argocd_token else None
    try:
        token = token_for(server, secret, settings.argocd_servers)
    except ArgoCDError as exc:
        return Outcome(FAILED, str(exc))
    project = job.spec.root.project
    try:
        with ArgoCDClient(server, token) as client:
            if rendered.root_kind == "Application":
                client.sync_unless_automated(client.upsert_application(rendered.root))
            else:
                client.upsert_applicationset(rendered.root)
                if not job.spec.root.automated:
                    return Outcome(
                        PENDING,
                        f"ApplicationSet {rendered.app_name} upserted in {server}; its "
                        "application syncs by hand (root.automated = false)",
                    )
            status = client.wait_healthy(
                rendered.app_name,
                project,
                job.spec.wait_healthy_seconds,
                poll=settings.handoff_poll_seconds,
            )
    except (ArgoCDError, ValueError) as exc:
        return Outcome(FAILED, f"handing {rendered.app_name} to Argo CD at {server}: {exc}")
    return Outcome(SYNCED, f"{rendered.app_name} is {status.sync} and {status.health} in {server}")


def _workdir(settings: Settings, spec: HandoffSpec) -> Path:
    """One clone per GitOps repository and branch (publish locks it while it works)."""
    digest = hashlib.sha256(f"{spec.repository}\n{spec.branch}".encode()).hexdigest()[:16]
    return settings.gitops_dir / digest


def finish(session: Session, job: Job, outcome: Outcome) -> None:
    """Record the attempt and tell the notification targets."""
    row = session.get(Handoff, job.handoff_id, populate_existing=True)
    assert row is not None
    row.status = outcome.status
    row.message = outcome.message
    row.gitops_commit = outcome.gitops_commit
    row.argocd_app = outcome.argocd_app
    if outcome.written_files is not None:
        row.written_files = list(outcome.written_files)
    row.finished_at = utcnow()
    event = "handoff.failed" if outcome.status == FAILED else "handoff.finished"
    text = (
        f"hand-off of stack {job.stack_name} (pipeline {job.pipeline_id}, run {job.run_id}) "
        f"{outcome.status}: {outcome.message}"
    )
    notifications.enqueue(session, event, job.repository_id, text, handoff_view(row))
    log_line = log.warning if outcome.status == FAILED else log.info
    log_line(
        "handoff=%s pipeline=%s run=%s status=%s commit=%s message=%r",
        job.handoff_id,
        job.pipeline_id,
        job.run_id,
        outcome.status,
        outcome.gitops_commit,
        outcome.message,
    )
