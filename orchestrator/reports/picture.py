"""What a pipeline's report shows now: the commit statuses that changed and the pull
request's comment, read from the database in one go (nothing here talks to the VCS)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.artifacts.store import ArtifactStore, log_key
from orchestrator.models import Pipeline, PolicyEvaluation, Repository, ReviewComment, Run, Stack
from orchestrator.reports import render
from orchestrator.reports.client import CommitState, VcsTarget
from orchestrator.runstate import PLANNED, RunKind
from orchestrator.secrets.masking import Masker
from orchestrator.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusToSend:
    run_id: int
    sha: str
    context: str
    state: CommitState
    description: str
    url: str

    @property
    def key(self) -> str:
        """What was last reported for the run, so an unchanged status is not sent again."""
        return f"{self.state}|{self.description}"[:300]


@dataclass
class Picture:
    """What one delivery sends, read from the database in one go."""

    pipeline_id: int
    repository_id: int
    seq: int
    target: VcsTarget
    statuses: list[StatusToSend] = field(default_factory=list)
    pr_number: int | None = None
    comment_id: str | None = None
    comment: str | None = None


def take_picture(
    session: Session, pipeline_id: int, settings: Settings, store: ArtifactStore
) -> Picture | None:
    """The statuses and comment the pipeline should show now; None when it reports nowhere."""
    pipeline = session.get(Pipeline, pipeline_id, populate_existing=True)
    if pipeline is None or pipeline.report_state is None:
        return None
    repository = session.get(Repository, pipeline.repository_id)
    token = repos.vcs_token(repository) if repository is not None else None
    if repository is None or token is None:
        stop_reporting(pipeline, "the repository has no vcs_token any more")
        return None
    picture = Picture(pipeline.id, repository.id, pipeline.report_seq, _target(repository, token))
    runs = list(session.scalars(select(Run).where(Run.pipeline_id == pipeline.id).order_by(Run.id)))
    reports = [_run_report(session, run, settings, store) for run in runs]
    for run, report in zip(runs, reports, strict=True):
        status = _status(run, report)
        if run.reported_status != status.key:
            picture.statuses.append(status)
    if pipeline.pr_number is not None and owns_comment(session, pipeline):
        picture.pr_number = pipeline.pr_number
        known = session.get(ReviewComment, (repository.id, pipeline.pr_number))
        picture.comment_id = known.comment_id if known is not None else None
        header = render.CommentHeader(
            pipeline_id=pipeline.id,
            commit_sha=pipeline.commit_sha,
            branch=pipeline.branch,
            pipeline_url=f"{settings.api_url}/api/v1/pipelines/{pipeline.id}",
            note=pipeline.note,
        )
        picture.comment = Masker()(render.comment(header, reports))
    return picture


def _target(repository: Repository, token: str) -> VcsTarget:
    return VcsTarget(
        provider=repository.provider,
        api_url=repository.vcs_api_url
        or repos.default_api_url(repository.provider, repository.clone_url),
        project=repository.vcs_project or repository.name,
        token=token,
    )


def _run_report(
    session: Session, run: Run, settings: Settings, store: ArtifactStore
) -> render.RunReport:
    stack = session.get(Stack, run.stack_id)
    policy, messages = _policy_of(session, run.id)
    # Statuses are public on the pull request and cut to 140 characters (a key cut in half
    # no longer looks like one): mask what they are made of, before rendering.
    mask = Masker()
    url = f"{settings.api_url}/api/v1/runs/{run.id}"
    return render.RunReport(
        run_id=run.id,
        stack=stack.name if stack is not None else run.stack_id,
        state=run.state,
        summary=run.plan_summary,
        policy=policy,
        policy_messages=tuple(mask(message) for message in messages),
        failure_reason=mask(run.failure_reason) if run.failure_reason else None,
        plan_text=_plan_text(run, store),
        url=url,
        log_url=f"{url}/logs",
    )


def _policy_of(session: Session, run_id: int) -> tuple[str, tuple[str, ...]]:
    """The plan policies' combined result: deny over warn over pass, with their messages."""
    rows = session.scalars(
        select(PolicyEvaluation).where(
            PolicyEvaluation.run_id == run_id, PolicyEvaluation.type == "plan"
        )
    ).all()
    if not rows:
        return "", ()
    results = {row.result for row in rows}
    verdict = "deny" if results & {"deny", "error"} else "warn" if "warn" in results else "pass"
    messages = tuple(
        f"{row.policy}: {message}"
        for row in rows
        if row.result in ("deny", "error", "warn")
        for message in row.messages or []
    )
    return verdict, messages


def _plan_text(run: Run, store: ArtifactStore) -> str:
    """The human plan out of the run's (already masked) log, once the run planned."""
    if run.state not in PLANNED or run.plan_summary is None:
        return ""
    try:
        log_text = store.get(log_key(run.id)).decode("utf-8", "replace")
    except (FileNotFoundError, KeyError, OSError) as exc:
        log.warning("run=%s reading its log for the report failed: %s", run.id, exc)
        return ""
    return render.plan_text_from_log(log_text)


def _status(run: Run, report: render.RunReport) -> StatusToSend:
    return StatusToSend(
        run_id=run.id,
        sha=run.commit_sha,
        context=render.status_context(report.stack),
        state=cast(CommitState, render.commit_state(report)),
        description=render.status_description(report),
        url=report.url,
    )


def owns_comment(session: Session, pipeline: Pipeline) -> bool:
    """Only the newest proposal of a pull request writes its comment."""
    newest = newest_proposal(session, pipeline)
    return newest is None or newest <= pipeline.id


def newest_proposal(session: Session, pipeline: Pipeline) -> int | None:
    """The newest proposed pipeline of the pipeline's pull request, if any."""
    return session.scalar(
        select(Pipeline.id)
        .where(
            Pipeline.repository_id == pipeline.repository_id,
            Pipeline.kind == RunKind.PROPOSED,
            Pipeline.pr_number == pipeline.pr_number,
        )
        .order_by(Pipeline.id.desc())
        .limit(1)
    )


def stop_reporting(pipeline: Pipeline, why: str) -> None:
    pipeline.report_state = None
    pipeline.report_due_at = None
    pipeline.report_error = why
