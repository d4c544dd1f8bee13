"""Reading runs and pipelines as the API lists them: no writes, no decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from orchestrator.models import Handoff, Pipeline, Run, RunTransition


@dataclass(frozen=True)
class RunFilter:
    """Which runs a list shows: `state` in any case; None is no filter."""

    stack: str | None = None
    state: str | None = None
    pipeline: int | None = None


@dataclass(frozen=True)
class PipelineFilter:
    """Which pipelines a list shows: `ref` a branch, bare or `refs/heads/…`; None is no filter."""

    ref: str | None = None
    pr: int | None = None
    repository: int | None = None
    kind: str | None = None


def run(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)


# What a run in a list shows (api/views.listed_run_view reads it by position), read as plain
# rows: its plan's resource changes, credentials and lease stay in the database until a run is
# read on its own, and no ORM object is built for each of a page's 500 runs.
LISTED = (
    Run.id,
    Run.stack_id,
    Run.pipeline_id,
    Run.kind,
    Run.state,
    Run.commit_sha,
    Run.commit_message,
    Run.commit_author,
    Run.branch,
    Run.pr_number,
    Run.triggered_by,
    Run.trigger_reason,
    Run.plan_summary,
    Run.failure_reason,
    Run.upstream_run_ids,
    Run.created_at,
    Run.finished_at,
)


def runs(session: Session, wanted: RunFilter, limit: int) -> list[Row[Any]]:
    """Newest first, at most `limit` (each filter has an index on (column, id))."""
    query = select(*LISTED).order_by(Run.id.desc()).limit(limit)
    if wanted.stack:
        query = query.where(Run.stack_id == wanted.stack)
    if wanted.state:
        query = query.where(Run.state == wanted.state.upper())
    if wanted.pipeline is not None:
        query = query.where(Run.pipeline_id == wanted.pipeline)
    return list(session.execute(query))


def history(session: Session, run_id: int) -> list[RunTransition]:
    """Every state change of the run, oldest first."""
    return list(
        session.scalars(
            select(RunTransition).where(RunTransition.run_id == run_id).order_by(RunTransition.id)
        )
    )


def handoffs_of(session: Session, run_id: int) -> list[Handoff]:
    """The hand-off attempts the run started, oldest first."""
    return list(
        session.scalars(select(Handoff).where(Handoff.run_id == run_id).order_by(Handoff.id))
    )


def pipeline(session: Session, pipeline_id: int) -> Pipeline | None:
    return session.get(Pipeline, pipeline_id)


def pipelines(session: Session, wanted: PipelineFilter, limit: int) -> list[Pipeline]:
    """Newest first, at most `limit`."""
    query = select(Pipeline).order_by(Pipeline.id.desc()).limit(limit)
    if wanted.ref:
        query = query.where(Pipeline.branch == wanted.ref.removeprefix("refs/heads/"))
    if wanted.pr is not None:
        query = query.where(Pipeline.pr_number == wanted.pr)
    if wanted.repository is not None:
        query = query.where(Pipeline.repository_id == wanted.repository)
    if wanted.kind is not None:
        query = query.where(Pipeline.kind == wanted.kind)
    return list(session.scalars(query))


def pipeline_runs(session: Session, pipeline_id: int) -> list[Run]:
    """The pipeline's runs as rows of the model, oldest first (a page that shows one)."""
    query = select(Run).where(Run.pipeline_id == pipeline_id).order_by(Run.id)
    return list(session.scalars(query))


def runs_of(session: Session, pipeline_id: int) -> list[Row[Any]]:
    """The pipeline's runs, oldest first."""
    return runs_of_many(session, [pipeline_id]).get(pipeline_id, [])


def runs_of_many(session: Session, pipeline_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
    """The runs of each pipeline, oldest first, in one query (a page of pipelines)."""
    found: dict[int, list[Row[Any]]] = {}
    if not pipeline_ids:
        return found
    query = (
        select(*LISTED)
        .where(Run.pipeline_id.in_(list(pipeline_ids)))
        .order_by(Run.pipeline_id, Run.id)
    )
    for run in session.execute(query):
        found.setdefault(int(run[2] or 0), []).append(run)  # LISTED[2] is the pipeline
    return found
