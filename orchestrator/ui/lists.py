"""What the UI's lists show: stacks, runs, pipelines and the audit trail, filtered and paged.
Runs, pipelines and audit rows page by id (`before`: the smallest id shown), newest first;
stacks page by position. Reads only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.models import AuditEntry, Pipeline, Repository, Run, Stack
from orchestrator.runstate import RunState

PAGE = 50
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    next_before: int | None = None
    next_page: int | None = None


@dataclass(frozen=True)
class StackRow:
    stack: Stack
    repository: str
    last_state: str | None
    last_run: int | None


@dataclass(frozen=True)
class StackFilter:
    label: str | None = None
    state: str | None = None
    repository: int | None = None


def waiting_count(session: Session) -> int:
    """Runs waiting for a human: every page links to them."""
    query = select(func.count()).select_from(Run).where(Run.state == RunState.UNCONFIRMED)
    return int(session.scalar(query) or 0)


def repositories(session: Session) -> list[Repository]:
    return list(session.scalars(select(Repository).order_by(Repository.name)))


def _last_runs() -> Any:
    return select(Run.stack_id, func.max(Run.id).label("run_id")).group_by(Run.stack_id).subquery()


def stacks(session: Session, wanted: StackFilter, page: int) -> Page[StackRow]:
    """Live stacks by id with their last run's state. The ids of a page are chosen on two
    columns (labels are a JSON list, filtered here, which a thousand stacks afford); only the
    page's rows are loaded whole."""
    last = _last_runs()
    chooser = (
        select(Stack.id, Stack.labels)
        .outerjoin(last, last.c.stack_id == Stack.id)
        .outerjoin(Run, Run.id == last.c.run_id)
        .where(Stack.deleted.is_(False))
        .order_by(Stack.id)
    )
    if wanted.repository is not None:
        chooser = chooser.where(Stack.repository_id == wanted.repository)
    if wanted.state:
        chooser = chooser.where(Run.state == wanted.state.upper())
    ids = [
        stack_id
        for stack_id, labels in session.execute(chooser)
        if not wanted.label or (isinstance(labels, list) and wanted.label in labels)
    ]
    start = (page - 1) * PAGE
    shown = ids[start : start + PAGE]
    query = (
        select(Stack, Repository.name, Run.state, Run.id)
        .join(Repository, Repository.id == Stack.repository_id)
        .outerjoin(last, last.c.stack_id == Stack.id)
        .outerjoin(Run, Run.id == last.c.run_id)
        .where(Stack.id.in_(shown))
        .order_by(Stack.id)
    )
    rows = [StackRow(*found) for found in session.execute(query)]
    more = len(ids) > start + PAGE
    return Page(rows, next_page=page + 1 if more else None)


@dataclass(frozen=True)
class RunFilter:
    state: str | None = None
    stack: str | None = None
    kind: str | None = None
    pipeline: int | None = None


def runs(session: Session, wanted: RunFilter, before: int | None) -> Page[Run]:
    query = select(Run).order_by(Run.id.desc()).limit(PAGE + 1)
    if wanted.state:
        query = query.where(Run.state == wanted.state.upper())
    if wanted.stack:
        query = query.where(Run.stack_id == wanted.stack)
    if wanted.kind:
        query = query.where(Run.kind == wanted.kind.upper())
    if wanted.pipeline is not None:
        query = query.where(Run.pipeline_id == wanted.pipeline)
    if before is not None:
        query = query.where(Run.id < before)
    return _keyset(list(session.scalars(query)))


def _keyset(rows: list[Any]) -> Page[Any]:
    if len(rows) > PAGE:
        return Page(rows[:PAGE], next_before=rows[PAGE - 1].id)
    return Page(rows)


@dataclass(frozen=True)
class PipelineRow:
    pipeline: Pipeline
    repository: str
    author: str
    message: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineFilter:
    repository: int | None = None
    kind: str | None = None
    branch: str | None = None


def pipelines(session: Session, wanted: PipelineFilter, before: int | None) -> Page[PipelineRow]:
    query = (
        select(Pipeline, Repository.name)
        .join(Repository, Repository.id == Pipeline.repository_id)
        .order_by(Pipeline.id.desc())
        .limit(PAGE + 1)
    )
    if wanted.repository is not None:
        query = query.where(Pipeline.repository_id == wanted.repository)
    if wanted.kind:
        query = query.where(Pipeline.kind == wanted.kind.upper())
    if wanted.branch:
        query = query.where(Pipeline.branch == wanted.branch)
    if before is not None:
        query = query.where(Pipeline.id < before)
    found = list(session.execute(query))
    page = _keyset([p for p, _ in found])
    names = {p.id: name for p, name in found}
    return Page(_pipeline_rows(session, page.rows, names), next_before=page.next_before)


def _pipeline_rows(
    session: Session, shown: list[Pipeline], names: dict[int, str]
) -> list[PipelineRow]:
    ids = [p.id for p in shown]
    counts: dict[int, Counter[str]] = {i: Counter() for i in ids}
    commits: dict[int, tuple[str, str]] = {}
    query = select(Run.pipeline_id, Run.state, Run.commit_author, Run.commit_message).where(
        Run.pipeline_id.in_(ids)
    )
    for pipeline_id, state, author, message in session.execute(query):
        if pipeline_id is not None:
            counts[pipeline_id][state] += 1
            commits.setdefault(pipeline_id, (author, message))
    return [
        PipelineRow(p, names[p.id], *commits.get(p.id, ("", "")), dict(counts[p.id])) for p in shown
    ]


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None


def audit(session: Session, wanted: AuditFilter, before: int | None) -> Page[AuditEntry]:
    """Newest first; `action` matches a prefix, as the API's."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE + 1)
    if wanted.actor:
        query = query.where(AuditEntry.actor == wanted.actor)
    if wanted.action:
        query = query.where(AuditEntry.action.startswith(wanted.action))
    if wanted.target:
        query = query.where(AuditEntry.target == wanted.target)
    if wanted.since is not None:
        query = query.where(AuditEntry.at >= wanted.since)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return _keyset(list(session.scalars(query)))
