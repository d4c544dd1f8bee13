"""A stored push becomes a pipeline: discover stacks at the commit, pick the changed ones."""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.graph.discover import StackSpec, discover, relevant_file, stack_of
from orchestrator.models import Event, Pipeline, Repository, Stack, utcnow
from orchestrator.repos import mirror_for
from orchestrator.runs import service
from orchestrator.runs.state import RunKind
from orchestrator.vcs.mirror import VcsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushResult:
    pipeline_id: int | None
    run_ids: tuple[int, ...]
    detail: str


def stack_id_for(repository: Repository, path: str) -> str:
    return repository.name if path == "." else f"{repository.name}/{path}"


def process_push(session: Session, event_id: int) -> PushResult | None:
    """Turn a received event into a pipeline; None when the event was already handled."""
    event = session.get(Event, event_id)
    if event is None or event.status != "received":
        return None
    repository = session.get(Repository, event.repository_id)
    assert repository is not None
    mirror = mirror_for(repository)
    try:
        mirror.ensure_commit(event.after_sha)
        files = mirror.read_files(
            event.after_sha, _relevant_paths(mirror.list_paths(event.after_sha))
        )
        changed = mirror.changed_paths(event.before_sha, event.after_sha)
        message, author = mirror.commit_info(event.after_sha)
    except VcsError as exc:
        return _finish_event(
            event,
            "failed",
            f"fetching commit {event.after_sha[:12]} of repository {repository.name}: {exc}",
        )
    specs = discover(files)
    stacks = upsert_stacks(session, repository, specs)
    if changed is None:
        changed = mirror.list_paths(event.after_sha)
    affected = _affected(specs, changed)
    if not affected:
        return _finish_event(event, "processed", "no stack has a changed file")
    pipeline = Pipeline(
        repository_id=repository.id,
        event_id=event.id,
        commit_sha=event.after_sha,
        branch=repository.branch,
    )
    session.add(pipeline)
    session.flush()
    run_ids = _create_runs(session, pipeline, stacks, affected, event, message, author)
    detail = f"pipeline {pipeline.id}: {len(run_ids)} runs"
    _finish_event(event, "processed", detail)
    return PushResult(pipeline.id, tuple(run_ids), detail)


def _relevant_paths(paths: list[str]) -> set[str]:
    return {p for p in paths if relevant_file(p)}


def _affected(specs: list[StackSpec], changed: list[str]) -> list[StackSpec]:
    paths = [s.path for s in specs]
    hit = {stack_of(p, paths) for p in changed}
    return [s for s in specs if s.path in hit]


def upsert_stacks(
    session: Session, repository: Repository, specs: list[StackSpec]
) -> dict[str, Stack]:
    stacks: dict[str, Stack] = {}
    for spec in specs:
        stack_id = stack_id_for(repository, spec.path)
        stack = session.get(Stack, stack_id)
        if stack is None:
            stack = Stack(id=stack_id, repository_id=repository.id, path=spec.path)
            session.add(stack)
        stack.name = spec.name
        stack.labels = list(spec.labels)
        stack.autodeploy = spec.autodeploy
        stack.managed_state = spec.managed_state
        stack.backend_type = spec.backend_type
        stack.worker_pool = spec.worker_pool
        stack.depends_on = list(spec.depends_on)
        stack.deleted = False
        stack.updated_at = utcnow()
        stacks[spec.path] = stack
    known = select(Stack).where(Stack.repository_id == repository.id, Stack.deleted.is_(False))
    for stack in session.scalars(known):
        if stack.path not in stacks:
            stack.deleted = True
    session.flush()
    return stacks


def _resolve_dependency(spec: StackSpec, reference: str, specs: list[StackSpec]) -> str | None:
    """A depends_on entry is a relative path or a stack name; returns the upstream's path."""
    for other in specs:
        if other.name == reference:
            return other.path
    joined = posixpath.normpath(posixpath.join(spec.path, reference))
    return joined if any(o.path == joined for o in specs) else None


def _create_runs(
    session: Session,
    pipeline: Pipeline,
    stacks: dict[str, Stack],
    affected: list[StackSpec],
    event: Event,
    message: str,
    author: str,
) -> list[int]:
    run_by_path: dict[str, int] = {}
    for spec in _topological(affected):
        upstream_paths = [_resolve_dependency(spec, d, affected) for d in spec.depends_on]
        upstream_ids = tuple(run_by_path[p] for p in upstream_paths if p in run_by_path)
        run = service.create_run(
            session,
            service.NewRun(
                stack_id=stacks[spec.path].id,
                kind=RunKind.TRACKED,
                commit_sha=event.after_sha,
                branch=pipeline.branch,
                triggered_by=f"push:{event.pusher or 'unknown'}",
                pipeline_id=pipeline.id,
                commit_message=message,
                commit_author=author,
                upstream_run_ids=upstream_ids,
            ),
        )
        if run is not None:
            run_by_path[spec.path] = run.id
    return list(run_by_path.values())


def _topological(specs: list[StackSpec]) -> list[StackSpec]:
    """Upstreams first by depends_on; members of a cycle keep their order."""
    ordered: list[StackSpec] = []
    placed: set[str] = set()
    pending = list(specs)
    while pending:
        progress = False
        for spec in list(pending):
            deps = {_resolve_dependency(spec, d, specs) for d in spec.depends_on} - {None}
            if deps <= placed:
                ordered.append(spec)
                placed.add(spec.path)
                pending.remove(spec)
                progress = True
        if not progress:
            ordered.extend(pending)
            break
    return ordered


def _finish_event(event: Event, status: str, detail: str) -> PushResult:
    event.status = status
    event.detail = detail
    event.processed_at = utcnow()
    log.info("event=%s status=%s detail=%r", event.id, status, detail)
    return PushResult(None, (), detail)
