"""When a pipeline's report back to the VCS is due: marked by the writer of run state."""

from __future__ import annotations

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from orchestrator.models import Pipeline, utcnow


def mark_due(session: Session, pipeline_id: int) -> None:
    """Ask for a report of the pipeline as it is now (a no-op when it reports nowhere).

    The sequence number lets a delivery that read an older picture leave the pipeline due; a
    report that is failing keeps its backoff."""
    backing_off = Pipeline.report_state == "failing"
    session.execute(
        update(Pipeline)
        .where(Pipeline.id == pipeline_id, Pipeline.report_state.is_not(None))
        .values(
            report_due_at=case((backing_off, Pipeline.report_due_at), else_=utcnow()),
            report_seq=Pipeline.report_seq + 1,
        )
    )
