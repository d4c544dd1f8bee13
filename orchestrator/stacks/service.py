"""The one owner of stack rows: created and described from the graph at a commit, marked
deleted when they vanish. A proposal never rewrites them (the tracked branch owns them)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.graph.model import Graph, StackNode
from orchestrator.models import Repository, Stack, utcnow


def stack_id_for(repository: Repository, path: str) -> str:
    return repository.name if path == "." else f"{repository.name}/{path}"


def upsert_stacks(session: Session, repository: Repository, graph: Graph) -> dict[str, Stack]:
    """Make the stack table match the graph at the pushed commit; vanished stacks are marked
    deleted (a deleted stack never triggers a destroy)."""
    stacks: dict[str, Stack] = {}
    for path, node in graph.stacks.items():
        stack, _ = _stack_at(session, repository, path)
        _describe(stack, repository, graph, path, node)
        stack.deleted = False
        stacks[path] = stack
    known = select(Stack).where(Stack.repository_id == repository.id, Stack.deleted.is_(False))
    for stack in session.scalars(known):
        if stack.path not in stacks:
            stack.deleted = True
    session.flush()
    return stacks


def known_stacks(session: Session, repository: Repository, graph: Graph) -> dict[str, Stack]:
    """A proposal's stacks as the tracked branch knows them; a stack the proposal adds is
    created hidden (`deleted`, never autodeployed) and otherwise left alone: the tracked
    branch owns the stack table."""
    stacks: dict[str, Stack] = {}
    for path, node in graph.stacks.items():
        stack, new = _stack_at(session, repository, path)
        if new:
            _describe(stack, repository, graph, path, node)
            stack.autodeploy = False
            stack.deleted = True
        stacks[path] = stack
    session.flush()
    return stacks


def _stack_at(session: Session, repository: Repository, path: str) -> tuple[Stack, bool]:
    """The stack row of the folder `path`, and whether it was created now."""
    stack = session.get(Stack, stack_id_for(repository, path))
    if stack is not None:
        return stack, False
    stack = Stack(id=stack_id_for(repository, path), repository_id=repository.id, path=path)
    session.add(stack)
    return stack, True


def _describe(
    stack: Stack, repository: Repository, graph: Graph, path: str, node: StackNode
) -> None:
    """The stack's settings as its stack block and the graph at the commit say."""
    stack.name = node.name
    stack.labels = list(node.labels)
    stack.autodeploy = node.autodeploy
    stack.managed_state = node.managed_state
    stack.backend_type = node.backend_type
    stack.worker_pool = node.worker_pool
    stack.depends_on = sorted(graph.upstreams_of(path))
    stack.inputs = [{**i, "stack": stack_id_for(repository, i["stack"])} for i in node.inputs]
    stack.trigger_always = node.trigger_always
    stack.drift_schedules = list(node.settings.drift.schedules) if node.settings.drift else []
    stack.drift_reconcile = bool(node.settings.drift and node.settings.drift.reconcile)
    stack.handoff = node.settings.handoff.to_json() if node.settings.handoff else None
    stack.aws = node.settings.aws.to_json() if node.settings.aws else None
    stack.local_state_reads = [
        {"path": r["path"], "stack": stack_id_for(repository, r["stack"])} for r in node.local_reads
    ]
    stack.updated_at = utcnow()
