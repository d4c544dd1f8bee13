"""The reaper's round over everything that waits on a worker: runs and pushes
(`runs/reaper.py`) and hand-offs (`handoff/service.reap`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orchestrator.handoff import service as handoff
from orchestrator.models import utcnow
from orchestrator.runs import reaper
from orchestrator.runs.queue import Doorbell

HANDOFF_LOST_AFTER = 3 * 3600


def reap(session: Session, stale_after_seconds: int = 30) -> list[Doorbell]:
    """Fail lost work and ring again for what nobody answered."""
    bells = reaper.reap(session, stale_after_seconds)
    unclaimed = handoff.reap(session, utcnow(), stale_after_seconds, HANDOFF_LOST_AFTER)
    return bells + [Doorbell("handoff", handoff_id, pool) for handoff_id, pool in unclaimed]
