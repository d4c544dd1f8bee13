"""The pull request's comment: edited in place, created once. Two deliveries may race to
create it; a `ReviewComment` row claimed by the first makes the other wait (CommentBusy)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.models import ReviewComment, utcnow
from orchestrator.outbox import SessionFactory
from orchestrator.reports.client import ReportFailed, VcsClient
from orchestrator.reports.picture import Picture

# How long a delivery holds its claim: on the pipeline, and on creating its comment.
CLAIM_SECONDS = 120.0


class CommentBusy(Exception):
    """Another delivery is creating this pull request's comment right now."""


def send_comment(
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
