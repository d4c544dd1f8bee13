"""Report a proposed pipeline back to its VCS: a commit status per stack, and one comment on
the pull/merge request, edited in place as runs finish.

A report is a picture of the pipeline as it is now, so sending it twice is harmless. The writer
of run state marks the pipeline due (`due.mark_due`); beat's `deliver_reports` claims the due
ones and sends what changed. A VCS that is down delays the report (with backoff) and shows on
the pipeline; it never touches the runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.artifacts.store import ArtifactStore, log_key, open_store
from orchestrator.models import (
    Pipeline,
    PolicyEvaluation,
    Repository,
    ReviewComment,
    Run,
    Stack,
    utcnow,
)
from orchestrator.notifications.messages import backoff_seconds
from orchestrator.reports import render
from orchestrator.reports.client import (
    CommitState,
    ReportFailed,
    VcsClient,
    VcsTarget,
    client_for,
)
from orchestrator.reports.due import mark_due
from orchestrator.runstate import RunKind
from orchestrator.secrets.masking import Masker
from orchestrator.settings import Settings

log = logging.getLogger(__name__)
CLAIM_SECONDS = 120.0
PLANNED_STATES = ("FINISHED", "FAILED")

SessionFactory = Callable[[], AbstractContextManager[Session]]


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


def claim_due(session: Session, now: datetime, limit: int = 20) -> list[int]:
    """Pipelines whose report is due, pushed CLAIM_SECONDS ahead by compare-and-set so two
    beats never send the same report at once."""
    due = session.scalars(
        select(Pipeline.id)
        .where(Pipeline.report_due_at.is_not(None), Pipeline.report_due_at <= now)
        .order_by(Pipeline.report_due_at)
        .limit(limit)
    ).all()
    claimed: list[int] = []
    for pipeline_id in due:
        result = session.execute(
            update(Pipeline)
            .where(Pipeline.id == pipeline_id, Pipeline.report_due_at <= now)
            .values(report_due_at=now + timedelta(seconds=CLAIM_SECONDS))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(pipeline_id)
    return claimed


def deliver_due(session_factory: SessionFactory, settings: Settings) -> int:
    """Claim and deliver every due report; the number delivered without a fault."""
    with session_factory() as session:
        claimed = claim_due(session, utcnow())
    delivered = 0
    for pipeline_id in claimed:
        try:
            delivered += deliver(session_factory, pipeline_id, settings)
        except Exception:
            # A fault in one report (its claim expires and it is tried again) never holds up
            # the others.
            log.exception("pipeline=%s delivering its report crashed", pipeline_id)
    return delivered


def deliver(session_factory: SessionFactory, pipeline_id: int, settings: Settings) -> bool:
    with session_factory() as session:
        picture = take_picture(session, pipeline_id, settings, open_store(settings))
    if picture is None:
        return True
    sent: dict[int, str] = {}
    try:
        client = client_for(picture.target)
        _send_statuses(client, picture, sent)
        comment_id = _send_comment(session_factory, client, picture)
    except CommentBusy:
        with session_factory() as session:
            _record_sent(session, sent)
            _due_again_soon(session, picture.pipeline_id)
        return True
    except ReportFailed as exc:
        with session_factory() as session:
            _record_failure(session, picture, sent, exc, settings)
        return False
    with session_factory() as session:
        _record_success(session, picture, sent, comment_id)
    return True


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
        _stop_reporting(pipeline, "the repository has no vcs_token any more")
        return None
    picture = Picture(pipeline.id, repository.id, pipeline.report_seq, _target(repository, token))
    runs = list(session.scalars(select(Run).where(Run.pipeline_id == pipeline.id).order_by(Run.id)))
    reports = [_run_report(session, run, settings, store) for run in runs]
    for run, report in zip(runs, reports, strict=True):
        status = _status(run, report)
        if run.reported_status != status.key:
            picture.statuses.append(status)
    if pipeline.pr_number is not None and _owns_comment(session, pipeline):
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
    if run.state not in PLANNED_STATES or run.plan_summary is None:
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


def _owns_comment(session: Session, pipeline: Pipeline) -> bool:
    """Only the newest proposal of a pull request writes its comment."""
    newer = session.scalar(
        select(Pipeline.id)
        .where(
            Pipeline.repository_id == pipeline.repository_id,
            Pipeline.kind == RunKind.PROPOSED,
            Pipeline.pr_number == pipeline.pr_number,
            Pipeline.id > pipeline.id,
        )
        .limit(1)
    )
    return newer is None


def _newest_writes_again(session: Session, pipeline: Pipeline) -> None:
    """A newer proposal of the pull request appeared while this one wrote the comment: the
    newest writes it once more, so the comment never ends on an older pipeline."""
    newest = session.scalar(
        select(Pipeline.id)
        .where(
            Pipeline.repository_id == pipeline.repository_id,
            Pipeline.kind == RunKind.PROPOSED,
            Pipeline.pr_number == pipeline.pr_number,
        )
        .order_by(Pipeline.id.desc())
        .limit(1)
    )
    if newest is not None:
        mark_due(session, newest)


def _send_statuses(client: VcsClient, picture: Picture, sent: dict[int, str]) -> None:
    for status in picture.statuses:
        client.set_status(status.sha, status.context, status.state, status.description, status.url)
        sent[status.run_id] = status.key


class CommentBusy(Exception):
    """Another delivery is creating this pull request's comment right now."""


def _send_comment(
    session_factory: SessionFactory, client: VcsClient, picture: Picture
) -> str | None:
    """Edit the pull request's comment, or create it when it has none (or it was deleted)."""
    if picture.pr_number is None or picture.comment is None:
        return None
    key = (picture.repository_id, picture.pr_number)
    if picture.comment_id is not None:
        try:
            client.update_comment(picture.pr_number, picture.comment_id, picture.comment)
        except ReportFailed as exc:
            if exc.status != 404:
                raise
            with session_factory() as session:
                _forget_comment(session, key, picture.comment_id)
        else:
            return picture.comment_id
    with session_factory() as session:
        known = _claim_comment(session, key)
    if known is not None:
        client.update_comment(picture.pr_number, known, picture.comment)
        return known
    try:
        created = client.create_comment(picture.pr_number, picture.comment)
    except ReportFailed:
        with session_factory() as session:
            _forget_comment(session, key, None)
        raise
    with session_factory() as session:
        row = session.get(ReviewComment, key)
        assert row is not None
        row.comment_id = created
    return created


def _claim_comment(session: Session, key: tuple[int, int]) -> str | None:
    """The comment to edit (made by another delivery meanwhile), or None when this delivery
    may create it; CommentBusy while another delivery is creating it."""
    now = utcnow()
    row = session.get(ReviewComment, key, with_for_update=True, populate_existing=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(ReviewComment(repository_id=key[0], pr_number=key[1], claimed_at=now))
                session.flush()
        except IntegrityError:
            raise CommentBusy from None
        return None
    if row.comment_id is not None:
        return row.comment_id
    claimed_at = (
        row.claimed_at.replace(tzinfo=now.tzinfo)
        if row.claimed_at.tzinfo is None
        else row.claimed_at
    )
    if claimed_at > now - timedelta(seconds=CLAIM_SECONDS):
        raise CommentBusy
    row.claimed_at = now
    return None


def _forget_comment(session: Session, key: tuple[int, int], comment_id: str | None) -> None:
    """The comment is gone (deleted on the VCS) or was never made: the next delivery makes it."""
    session.execute(
        delete(ReviewComment).where(
            ReviewComment.repository_id == key[0],
            ReviewComment.pr_number == key[1],
            ReviewComment.comment_id.is_(None)
            if comment_id is None
            else ReviewComment.comment_id == comment_id,
        )
    )


def _due_again_soon(session: Session, pipeline_id: int) -> None:
    session.execute(
        update(Pipeline)
        .where(Pipeline.id == pipeline_id)
        .values(report_due_at=utcnow() + timedelta(seconds=1))
    )


def _record_sent(session: Session, sent: dict[int, str]) -> None:
    for run_id, key in sent.items():
        session.execute(update(Run).where(Run.id == run_id).values(reported_status=key))


def _record_success(
    session: Session, picture: Picture, sent: dict[int, str], comment_id: str | None
) -> None:
    _record_sent(session, sent)
    pipeline = session.get(Pipeline, picture.pipeline_id, populate_existing=True)
    assert pipeline is not None
    if comment_id is not None:
        pipeline.comment_id = comment_id
    pipeline.report_state = "ok"
    pipeline.report_error = ""
    pipeline.report_attempts = 0
    # A run that changed while this was sent marked the pipeline due again: send once more.
    pipeline.report_due_at = utcnow() if pipeline.report_seq != picture.seq else None
    if comment_id is not None and not _owns_comment(session, pipeline):
        _newest_writes_again(session, pipeline)
    log.info(
        "pipeline=%s reported statuses=%d comment=%s",
        pipeline.id,
        len(sent),
        comment_id or "none",
    )


def _record_failure(
    session: Session,
    picture: Picture,
    sent: dict[int, str],
    failed: ReportFailed,
    settings: Settings,
) -> None:
    error = str(failed)
    _record_sent(session, sent)
    pipeline = session.get(Pipeline, picture.pipeline_id, populate_existing=True)
    assert pipeline is not None
    pipeline.report_attempts += 1
    pipeline.report_error = error
    if pipeline.report_attempts >= settings.report_max_attempts:
        pipeline.report_state = "failed"
        pipeline.report_due_at = None
    else:
        pipeline.report_state = "failing"
        wait = backoff_seconds(pipeline.report_attempts, settings.report_backoff_seconds)
        wait = max(wait, failed.retry_after or 0.0)  # a rate limit says when to come back
        pipeline.report_due_at = utcnow() + timedelta(seconds=wait)
    log.warning(
        "pipeline=%s reporting to the vcs failed attempt=%d state=%s: %s",
        pipeline.id,
        pipeline.report_attempts,
        pipeline.report_state,
        error,
    )


def _stop_reporting(pipeline: Pipeline, why: str) -> None:
    pipeline.report_state = None
    pipeline.report_due_at = None
    pipeline.report_error = why


def view(pipeline: Pipeline) -> dict[str, object] | None:
    """The pipeline's report as the API shows it (None when it reports nowhere)."""
    if pipeline.report_state is None:
        return None
    return {
        "state": pipeline.report_state,
        "error": pipeline.report_error,
        "attempts": pipeline.report_attempts,
        "comment_id": pipeline.comment_id,
        "next_attempt_at": pipeline.report_due_at.isoformat() if pipeline.report_due_at else None,
    }
