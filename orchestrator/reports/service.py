"""Report a proposed pipeline back to its VCS: a commit status per stack, and one comment on
the pull/merge request, edited in place as runs finish.

A report is a picture of the pipeline as it is now, so sending it twice is harmless. The writer
of run state marks the pipeline due (`due.mark_due`); beat's `deliver_reports` claims the due
ones and sends what changed. A VCS that is down delays the report (with backoff) and shows on
the pipeline; it never touches the runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from orchestrator import outbox
from orchestrator.artifacts.store import open_store
from orchestrator.models import Pipeline, Run, utcnow
from orchestrator.outbox import SessionFactory
from orchestrator.reports.client import ReportFailed, VcsClient, client_for
from orchestrator.reports.comment import CLAIM_SECONDS, CommentBusy, send_comment
from orchestrator.reports.due import mark_due
from orchestrator.reports.picture import Picture, newest_proposal, owns_comment, take_picture
from orchestrator.settings import Settings

log = logging.getLogger(__name__)
REPORTS = outbox.Queue(Pipeline, Pipeline.report_due_at, CLAIM_SECONDS)


def claim_due(session: Session, now: datetime, limit: int = 20) -> list[int]:
    """Pipelines whose report is due, pushed CLAIM_SECONDS ahead by compare-and-set so two
    beats never send the same report at once; the longest due first."""
    return outbox.claim_due(session, REPORTS, now, limit)


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


@dataclass(frozen=True)
class Sent:
    """What one delivery got through: the statuses sent ({run id: key}), then the comment,
    or why it stopped (another delivery creating the comment, or the VCS refusing)."""

    statuses: dict[int, str] = field(default_factory=dict)
    comment_id: str | None = None
    busy: bool = False
    failed: ReportFailed | None = None


def deliver(session_factory: SessionFactory, pipeline_id: int, settings: Settings) -> bool:
    """Take the pipeline's picture, send it, record the outcome: False when the VCS failed."""
    store = open_store(settings)

    def picture(session: Session) -> list[Picture]:
        taken = take_picture(session, pipeline_id, settings, store)
        return [] if taken is None else [taken]

    def send(picture: Picture) -> Sent:
        return _send(session_factory, picture)

    def record(session: Session, picture: Picture, sent: Sent) -> None:
        _record(session, picture, sent, settings)

    outcomes = outbox.deliver(session_factory, picture, send, record)
    return all(sent.failed is None for sent in outcomes)


def _send(session_factory: SessionFactory, picture: Picture) -> Sent:
    """Statuses first, then the comment; what got through is recorded whatever stops it."""
    statuses: dict[int, str] = {}
    try:
        client = client_for(picture.target)
        _send_statuses(client, picture, statuses)
        comment_id = send_comment(session_factory, client, picture)
    except CommentBusy:
        return Sent(statuses, busy=True)
    except ReportFailed as exc:
        return Sent(statuses, failed=exc)
    return Sent(statuses, comment_id)


def _send_statuses(client: VcsClient, picture: Picture, sent: dict[int, str]) -> None:
    for status in picture.statuses:
        client.set_status(status.sha, status.context, status.state, status.description, status.url)
        sent[status.run_id] = status.key


def _record(session: Session, picture: Picture, sent: Sent, settings: Settings) -> None:
    _record_sent(session, sent.statuses)
    if sent.busy:
        _due_again_soon(session, picture.pipeline_id)
    elif sent.failed is not None:
        _record_failure(session, picture, sent.failed, settings)
    else:
        _record_success(session, picture, sent.comment_id)


def _due_again_soon(session: Session, pipeline_id: int) -> None:
    session.execute(
        update(Pipeline)
        .where(Pipeline.id == pipeline_id)
        .values(report_due_at=utcnow() + timedelta(seconds=1))
    )


def _record_sent(session: Session, sent: dict[int, str]) -> None:
    for run_id, key in sent.items():
        session.execute(update(Run).where(Run.id == run_id).values(reported_status=key))


def _record_success(session: Session, picture: Picture, comment_id: str | None) -> None:
    pipeline = session.get(Pipeline, picture.pipeline_id, populate_existing=True)
    assert pipeline is not None
    if comment_id is not None:
        pipeline.comment_id = comment_id
    pipeline.report_state = "ok"
    pipeline.report_error = ""
    pipeline.report_attempts = 0
    # A run that changed while this was sent marked the pipeline due again: send once more.
    pipeline.report_due_at = utcnow() if pipeline.report_seq != picture.seq else None
    if comment_id is not None and not owns_comment(session, pipeline):
        _newest_writes_again(session, pipeline)
    log.info(
        "pipeline=%s reported statuses=%d comment=%s",
        pipeline.id,
        len(picture.statuses),
        comment_id or "none",
    )


def _record_failure(
    session: Session, picture: Picture, failed: ReportFailed, settings: Settings
) -> None:
    error = str(failed)
    pipeline = session.get(Pipeline, picture.pipeline_id, populate_existing=True)
    assert pipeline is not None
    pipeline.report_attempts += 1
    pipeline.report_error = error
    retry = outbox.Retry(settings.report_backoff_seconds, settings.report_max_attempts)
    # A rate limit says when to come back.
    due = retry.next_attempt(pipeline.report_attempts, utcnow(), failed.retry_after or 0.0)
    pipeline.report_state = "failed" if due is None else "failing"
    pipeline.report_due_at = due
    log.warning(
        "pipeline=%s reporting to the vcs failed attempt=%d state=%s: %s",
        pipeline.id,
        pipeline.report_attempts,
        pipeline.report_state,
        error,
    )


def _newest_writes_again(session: Session, pipeline: Pipeline) -> None:
    """A newer proposal of the pull request appeared while this one wrote the comment: the
    newest writes it once more, so the comment never ends on an older pipeline."""
    newest = newest_proposal(session, pipeline)
    if newest is not None:
        mark_due(session, newest)


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
