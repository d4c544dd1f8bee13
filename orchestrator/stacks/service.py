"""The one owner of stack rows: created and described from the graph at a commit, marked
deleted when they vanish. A proposal never rewrites them (the tracked branch owns them)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.graph.model import Graph, StackNode
from orchestrator.graph.model import address_of as address_of_node
from orchestrator.models import Repository, Stack, utcnow


def stack_id_for(repository: Repository, address: str) -> str:
    """`<repository>/<path>`, `<repository>/<path>@<environment>` for an environment's
    instance; the root folder's stack is the repository's name (`<repository>@<env>`)."""
    if address == "." or address.startswith(".@"):
        return repository.name + address[1:]
    return f"{repository.name}/{address}"


def address_of(stack: Stack) -> str:
    """The stack's key in the graph: its folder, or `folder@environment`."""
    return address_of_node(stack.path, stack.environment)


def upsert_stacks(session: Session, repository: Repository, graph: Graph) -> dict[str, Stack]:
    """Make the stack table match the graph at the pushed commit; vanished stacks are marked
    deleted (a deleted stack never triggers a destroy)."""
    stacks: dict[str, Stack] = {}
    for address, (stack, _) in _stacks_at(session, repository, graph).items():
        node = graph.stacks[address]
        _describe(stack, repository, graph, address, node)
        stack.deleted = False
        stacks[address] = stack
    known = select(Stack).where(Stack.repository_id == repository.id, Stack.deleted.is_(False))
    for stack in session.scalars(known):
        if address_of(stack) not in stacks:
            stack.deleted = True
    session.flush()
    return stacks


def known_stacks(session: Session, repository: Repository, graph: Graph) -> dict[str, Stack]:
    """A proposal's stacks as the tracked branch knows them; a stack the proposal adds is
    created hidden (`deleted`, never autodeployed) and otherwise left alone: the tracked
    branch owns the stack table."""
    stacks: dict[str, Stack] = {}
    for address, (stack, new) in _stacks_at(session, repository, graph).items():
        node = graph.stacks[address]
        if new:
            _describe(stack, repository, graph, address, node)
            stack.autodeploy = False
            stack.deleted = True
        stacks[address] = stack
    session.flush()
    return stacks


def _stacks_at(
    session: Session, repository: Repository, graph: Graph
) -> dict[str, tuple[Stack, bool]]:
    """The stack row of each of the graph's addresses (a folder, or an environment's instance
    of one), read in one query, and whether it was created now."""
    ids = {address: stack_id_for(repository, address) for address in graph.stacks}
    rows = session.scalars(select(Stack).where(Stack.id.in_(list(ids.values()))))
    found = {stack.id: stack for stack in rows}
    stacks: dict[str, tuple[Stack, bool]] = {}
    for address, node in graph.stacks.items():
        stack = found.get(ids[address])
        if stack is not None:
            stacks[address] = (stack, False)
            continue
        stack = Stack(
            id=ids[address],
            repository_id=repository.id,
            path=node.path,
            environment=node.environment,
        )
        session.add(stack)
        stacks[address] = (stack, True)
    return stacks


def _describe(
    stack: Stack, repository: Repository, graph: Graph, address: str, node: StackNode
) -> None:
    """The stack's settings as its stack block and the graph at the commit say."""
    stack.name = node.name
    stack.path = node.path
    stack.environment = node.environment
    stack.backend_files = list(node.backend_files)
    stack.var_files = list(node.var_files)
    stack.labels = list(node.labels)
    stack.autodeploy = node.autodeploy
    stack.managed_state = node.managed_state
    stack.backend_type = node.backend_type
    stack.worker_pool = node.worker_pool
    stack.depends_on = sorted(graph.upstreams_of(address))
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
