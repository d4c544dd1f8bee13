"""What a check writes: findings opened, seen again, reopened and closed, the
`boundary.violation` notifications of new ones, and the check row itself."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.boundary import findings as rules
from orchestrator.boundary import index
from orchestrator.boundary.findings import CLOSED, OPEN, Finding, Stored
from orchestrator.boundary.views import finding_view, product
from orchestrator.models import BoundaryCheck, BoundaryFinding, Stack, utcnow
from orchestrator.notifications import service as notifications

if TYPE_CHECKING:
    from orchestrator.boundary.argocd_side import Observed
    from orchestrator.boundary.check import Target

log = logging.getLogger(__name__)
EVENT = "boundary.violation"


def repository_of(session: Session, stack_id: str) -> int | None:
    return session.scalar(select(Stack.repository_id).where(Stack.id == stack_id))


def failed(
    session: Session, platform: str, trigger: str, pipeline_id: int | None, message: str
) -> None:
    log.warning("boundary check platform=%s failed: %s", platform, message)
    _check(session, platform, trigger, pipeline_id, "failed", message, 0, 0)


def findings(
    session: Session,
    target: Target,
    observed: Observed,
    trigger: str,
    pipeline_id: int | None,
) -> str:
    """Record a check's findings; `ok`, or `partial` when some application was not read whole."""
    keys = {identity.key for claim in observed.claims for identity in claim.identities}
    seen = rules.compute(target.platform, observed.claims, index.owners_of(session, keys))
    rows = {
        row.key: row
        for row in session.scalars(
            select(BoundaryFinding).where(BoundaryFinding.platform == target.platform)
        )
    }
    stored = [Stored(row.key, row.status, row.app) for row in rows.values()]
    listed = observed.listed
    if target.cluster.root_app not in listed:
        # a token that may not list the root sees an incomplete list: no app is "gone"
        listed = listed | {row.app for row in rows.values()}
    changes = rules.reconcile(stored, seen, observed.complete, listed)
    _apply(session, target.platform, changes, rows)
    status = "ok" if not observed.problems else "partial"
    message = "; ".join(observed.problems) or (
        f"{len(observed.listed)} applications, {len(seen)} findings "
        f"({len(changes.new)} new, {len(changes.closed)} closed)"
    )
    _check(
        session,
        target.platform,
        trigger,
        pipeline_id,
        status,
        message,
        len(observed.listed),
        observed.objects,
    )
    return status


def _apply(
    session: Session, platform: str, changes: rules.Changes, rows: dict[str, BoundaryFinding]
) -> None:
    """Write what a check changed; announce the new and reopened findings."""
    now = utcnow()
    for finding in changes.new:
        rows[finding.key] = _new_row(platform, finding, now)
        session.add(rows[finding.key])
    for finding in changes.reopened:
        row = rows[finding.key]
        row.status, row.closed_at, row.close_reason, row.identity = OPEN, None, "", finding.identity
    for key in [*changes.seen_again, *(f.key for f in changes.reopened)]:
        rows[key].last_seen = now
    for key, reason in changes.closed.items():
        rows[key].status, rows[key].closed_at, rows[key].close_reason = CLOSED, now, reason
    session.flush()
    for finding in [*changes.new, *changes.reopened]:
        _announce(session, rows[finding.key], finding)


def _new_row(platform: str, finding: Finding, now: Any) -> BoundaryFinding:
    obj = finding.obj
    return BoundaryFinding(
        key=finding.key,
        platform=platform,
        direction=finding.direction,
        app=finding.app[:300],
        group=obj.group[:300],
        kind=obj.kind[:300],
        namespace=obj.namespace[:300],
        name=obj.name[:300],
        stack_id=finding.stack_id,
        address=finding.address[:1000],
        identity=finding.identity[:1100],
        status=OPEN,
        first_seen=now,
        last_seen=now,
        close_reason="",
    )


def _announce(session: Session, row: BoundaryFinding, finding: Finding) -> None:
    text = (
        f"stackrun: boundary violation: Argo CD application `{row.app}` manages "
        f"{product(row.group)} {finding.obj} ({row.identity}), which stack {row.stack_id} "
        f"owns as {row.address}"
    )
    detail = {"boundary": finding_view(row)}
    notifications.enqueue(session, EVENT, repository_of(session, row.stack_id), text, detail)
    log.warning("boundary finding=%s new: %s", row.key, finding.describe())


def _check(
    session: Session,
    platform: str,
    trigger: str,
    pipeline_id: int | None,
    status: str,
    message: str,
    apps: int,
    objects: int,
) -> None:
    open_findings = session.scalar(
        select(func.count(BoundaryFinding.id)).where(
            BoundaryFinding.platform == platform, BoundaryFinding.status == OPEN
        )
    )
    session.add(
        BoundaryCheck(
            platform=platform,
            pipeline_id=pipeline_id,
            trigger=trigger,
            status=status,
            message=message,
            apps=apps,
            objects=objects,
            open_findings=int(open_findings or 0),
        )
    )
