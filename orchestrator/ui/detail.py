"""What the UI's detail pages show: a run, a pipeline, a stack, a repository. Reads only;
every piece comes from the services the API reads through."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.auth import Principal
from orchestrator.boundary import queries as boundary
from orchestrator.drift import service as drift
from orchestrator.graphstore import snapshot
from orchestrator.handoff import views as handoff_views
from orchestrator.models import Event, GraphSnapshot, Pipeline, Repository, Run, Stack
from orchestrator.policy import store as policies
from orchestrator.runs import queries
from orchestrator.runstate import PLANNING_PHASE, RETRYABLE, TERMINAL, RunState
from orchestrator.stacks.service import address_of, stack_id_for
from orchestrator.ui import dag
from orchestrator.variables import service as variables

ACTION_ORDER = ("approve", "reject", "discard", "cancel", "stop", "retry")


def run_actions(run: Run, who: Principal) -> list[str]:
    """The buttons a run's state and the viewer's role allow (the server checks again)."""
    if not who.has("approver"):
        return []
    state = RunState(run.state)
    if state == RunState.UNCONFIRMED:
        return ["approve", "reject", "discard"]
    if state == RunState.QUEUED:
        return ["cancel"]
    if state in PLANNING_PHASE:
        return ["stop"]
    if state in RETRYABLE:
        return ["retry"]
    return []


@dataclass(frozen=True)
class RunPage:
    run: Run
    history: list[Any]
    evaluations: list[dict[str, Any]]
    reviews: list[Any]
    changes: dict[str, list[dict[str, Any]]]
    actions: list[str]
    log_role: str
    terminal: bool


def grouped_changes(changes: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Resource changes by action: replace (delete and create), create, update, delete."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for change in changes:
        acts = list(change.get("actions") or [])
        name = "replace" if {"create", "delete"} <= set(acts) else (acts[0] if acts else "other")
        groups[name].append(change)
    order = ("replace", "create", "update", "delete")
    return {k: groups[k] for k in (*order, *sorted(set(groups) - set(order))) if k in groups}


def run_page(session: Session, run: Run, who: Principal) -> RunPage:
    return RunPage(
        run=run,
        history=queries.history(session, run.id),
        evaluations=policies.evaluations_of(session, run.id),
        reviews=policies.reviews_of(session, run.id),
        changes=grouped_changes(list(run.resource_changes or [])),
        actions=run_actions(run, who),
        log_role=repos.logs_role(session, run),
        terminal=RunState(run.state) in TERMINAL,
    )


@dataclass(frozen=True)
class PipelinePage:
    pipeline: Pipeline
    repository: Repository | None
    runs: list[Run]
    drawing: dag.Drawing
    handoffs: list[dict[str, Any]]
    terminal: bool
    boundary: dict[str, Any]  # the ownership checks its hand-off started, open findings (§8)


def pipeline_drawing(runs: list[Run]) -> dag.Drawing:
    nodes = [
        dag.Node(str(r.id), r.stack_id.rsplit("/", 1)[-1], r.state, f"/runs/{r.id}") for r in runs
    ]
    edges = [(str(up), str(r.id)) for r in runs for up in r.upstream_run_ids]
    return dag.layout(nodes, edges)


def pipeline_page(session: Session, pipeline: Pipeline) -> PipelinePage:
    runs = queries.pipeline_runs(session, pipeline.id)
    handoffs = handoff_views.views(session, pipeline.id)
    platforms = sorted({h["stack_id"] for h in handoffs})
    return PipelinePage(
        pipeline=pipeline,
        repository=session.get(Repository, pipeline.repository_id),
        runs=runs,
        drawing=pipeline_drawing(runs),
        handoffs=handoffs,
        terminal=all(RunState(r.state) in TERMINAL for r in runs),
        boundary=boundary.pipeline_view(session, pipeline.id, platforms),
    )


def pipeline_states(session: Session, pipeline_id: int) -> dict[str, str]:
    """Each run's state, for the live DAG."""
    query = select(Run.id, Run.state).where(Run.pipeline_id == pipeline_id)
    return {str(run_id): state for run_id, state in session.execute(query)}


@dataclass(frozen=True)
class Edge:
    stack: str
    file: str
    block: str
    kind: str


@dataclass(frozen=True)
class StackPage:
    stack: Stack
    repository: Repository | None
    runs: list[Run]
    upstream: list[Edge]
    downstream: list[Edge]
    variables: list[dict[str, Any]]
    drift_checks: list[dict[str, Any]]
    schedules: list[str]


def _edges(
    session: Session, stack: Stack, repository: Repository | None
) -> tuple[list[Edge], list[Edge]]:
    """The stack's edges in its repository's last graph, with the evidence of each (the
    graph names stacks by address, `path` or `path@environment`; ids come from stack_id_for)."""
    graph = session.get(GraphSnapshot, stack.repository_id)
    if graph is None or repository is None:
        return [], []
    me = address_of(stack)
    up: list[Edge] = []
    down: list[Edge] = []
    for edge in graph.graph.get("edges") or []:
        evidence = edge.get("evidence") or {}
        where = (str(evidence.get("file", "")), str(evidence.get("block", "")))
        kind = str(edge.get("kind", ""))
        if edge.get("to") == me:
            up.append(Edge(stack_id_for(repository, str(edge.get("from"))), *where, kind))
        if edge.get("from") == me:
            down.append(Edge(stack_id_for(repository, str(edge.get("to"))), *where, kind))
    return up, down


def stack_page(session: Session, stack: Stack) -> StackPage:
    repository = session.get(Repository, stack.repository_id)
    up, down = _edges(session, stack, repository)
    owner = variables.Owner("stack", stack.id)
    return StackPage(
        stack=stack,
        repository=repository,
        runs=list(
            session.scalars(
                select(Run).where(Run.stack_id == stack.id).order_by(Run.id.desc()).limit(20)
            )
        ),
        upstream=up,
        downstream=down,
        variables=[
            {"name": v.name, "kind": v.kind, "secret": v.secret, "checksum": v.checksum}
            for v in variables.listed(session, owner)
        ],
        drift_checks=drift.history(session, stack.id, limit=10),
        schedules=drift.schedules_of(stack),
    )


@dataclass(frozen=True)
class RepositoryPage:
    repository: Repository
    graph: dict[str, Any] | None
    missing: str
    drawing: dag.Drawing | None
    deliveries: list[Event]


def repository(session: Session, repository_id: int) -> Repository | None:
    return session.get(Repository, repository_id)


def repository_page(session: Session, repository: Repository) -> RepositoryPage:
    found = snapshot.view(session, repository)
    graph = None if isinstance(found, snapshot.NoGraphYet) else found
    drawing = None
    if graph is not None:
        nodes = [
            dag.Node(
                s.get("address") or s["path"],
                s.get("name") or s["path"],
                href=f"/stacks/{stack_id_for(repository, s.get('address') or s['path'])}",
                note=" ".join(s.get("labels") or []),
            )
            for s in graph.get("stacks") or []
        ]
        edges = [(str(e["from"]), str(e["to"])) for e in graph.get("edges") or []]
        drawing = dag.layout(nodes, edges)
    deliveries = session.scalars(
        select(Event)
        .where(Event.repository_id == repository.id)
        .order_by(Event.id.desc())
        .limit(20)
    )
    missing = found.reason if isinstance(found, snapshot.NoGraphYet) else ""
    return RepositoryPage(repository, graph, missing, drawing, list(deliveries))
