"""Reading runs and pipelines as the API lists them: no writes, no decisions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
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


def runs(session: Session, wanted: RunFilter, limit: int) -> list[Run]:
    """Newest first, at most `limit`."""
    query = select(Run).order_by(Run.id.desc()).limit(limit)
    if wanted.stack:
        query = query.where(Run.stack_id == wanted.stack)
    if wanted.state:
        query = query.where(Run.state == wanted.state.upper())
    if wanted.pipeline is not None:
        query = query.where(Run.pipeline_id == wanted.pipeline)
    return list(session.scalars(query))


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


def runs_of(session: Session, pipeline_id: int) -> list[Run]:
    """The pipeline's runs, oldest first."""
    return list(session.scalars(select(Run).where(Run.pipeline_id == pipeline_id).order_by(Run.id)))
