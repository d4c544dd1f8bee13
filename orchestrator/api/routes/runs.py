"""Runs, pipelines and events: read them, approve or discard runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, HTTPException
from fastapi.responses import PlainTextResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.convertors import StringConvertor, register_url_convertor

from orchestrator import repos
from orchestrator.api.deps import (
    Id,
    IdFilter,
    NumberFilter,
    PrincipalDep,
    RequestBody,
    SessionDep,
    page_limit,
    require,
    settle,
)
from orchestrator.api.errors import responses
from orchestrator.api.views import event_view, pipeline_view, run_view
from orchestrator.approvals import service as approvals
from orchestrator.artifacts.store import log_key, open_store
from orchestrator.auth import Principal
from orchestrator.handoff import actions as handoff_actions
from orchestrator.handoff import service as handoff
from orchestrator.models import Event, Pipeline, Run
from orchestrator.runs import actions

router = APIRouter(prefix="/api/v1", tags=["runs"], responses=responses(401))


class Review(RequestBody):
    comment: str = ""


def _get_run(session: SessionDep, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise HTTPException(404, f"run {run_id} does not exist")
    return run


@router.get("/runs")
def list_runs(
    session: SessionDep,
    who: PrincipalDep,
    stack: str | None = None,
    state: str | None = None,
    pipeline: IdFilter = None,
    limit: Annotated[int, page_limit(1000)] = 100,
) -> list[dict[str, Any]]:
    query = select(Run).order_by(Run.id.desc()).limit(limit)
    if stack:
        query = query.where(Run.stack_id == stack)
    if state:
        query = query.where(Run.state == state.upper())
    if pipeline is not None:
        query = query.where(Run.pipeline_id == pipeline)
    return [run_view(session, r) for r in session.scalars(query)]


@router.get("/runs/{run_id}", responses=responses(404))
def get_run(run_id: Id, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    return run_view(session, _get_run(session, run_id), detail=True)


@router.get("/runs/{run_id}/logs", response_class=PlainTextResponse, responses=responses(403, 404))
def get_logs(run_id: Id, session: SessionDep, who: PrincipalDep) -> str:
    """A proposed run's log is for approvers unless its repository opens it to viewers."""
    run = _get_run(session, run_id)
    require(who, repos.logs_role(session, run), f"reading the log of a {run.kind} run")
    try:
        return open_store().get(log_key(run_id)).decode("utf-8", errors="replace")
    except KeyError:
        return ""


RunAction = Literal["approve", "reject", "discard", "cancel", "stop", "retry"]


class _ActionConvertor(StringConvertor):
    """Only an action's name matches `{action:run_action}`, so `POST /runs/1/environment`
    is the 405 it is (the route is GET), not an unknown action."""

    regex = "|".join(get_args(RunAction))


register_url_convertor("run_action", _ActionConvertor())
_ACTIONS: dict[str, Callable[[Session, int, Principal, str], actions.Done | actions.Refusal]] = {
    "approve": approvals.approve,
    "reject": approvals.reject,
    "discard": actions.discard,
    "cancel": actions.cancel,
    "stop": actions.stop,
    "retry": lambda session, run_id, who, _comment: actions.retry(session, run_id, who),
}


@router.post("/runs/{run_id}/{action:run_action}", responses=responses(403, 404, 409, 422))
def act_on_run(
    run_id: Id,
    action: RunAction,
    session: SessionDep,
    who: PrincipalDep,
    body: Review | None = None,
) -> dict[str, Any]:
    """approve | reject | discard | cancel | stop | retry, each refused with the reason as data."""
    done = settle(
        session, _ACTIONS[action](session, run_id, who, body.comment if body else ""), who
    )
    return {"id": done.run_id, "state": done.state}


@router.get("/pipelines")
def list_pipelines(
    session: SessionDep,
    who: PrincipalDep,
    ref: str | None = None,
    pr: NumberFilter = None,
    repository: IdFilter = None,
    kind: Literal["TRACKED", "PROPOSED"] | None = None,
    limit: Annotated[int, page_limit(500)] = 50,
) -> list[dict[str, Any]]:
    """Newest first; `ref` is a branch (`feature/x` or `refs/heads/feature/x`), `pr` a pull or
    merge request number."""
    query = select(Pipeline).order_by(Pipeline.id.desc()).limit(limit)
    if ref:
        query = query.where(Pipeline.branch == ref.removeprefix("refs/heads/"))
    if pr is not None:
        query = query.where(Pipeline.pr_number == pr)
    if repository is not None:
        query = query.where(Pipeline.repository_id == repository)
    if kind is not None:
        query = query.where(Pipeline.kind == kind)
    return [pipeline_view(session, p) for p in session.scalars(query)]


@router.get("/pipelines/{pipeline_id}", responses=responses(404))
def get_pipeline(pipeline_id: Id, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise HTTPException(404, f"pipeline {pipeline_id} does not exist")
    return pipeline_view(session, pipeline)


@router.post(
    "/pipelines/{pipeline_id}/handoff", status_code=202, responses=responses(403, 404, 409)
)
def retry_handoff(pipeline_id: Id, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    """Hand the pipeline's cluster off again (admin): a new pending attempt."""
    settle(session, handoff_actions.retry_handoff(session, pipeline_id, who), who)
    return {"pipeline": pipeline_id, "handoffs": handoff.views(session, pipeline_id)}


@router.get("/events/{delivery_id}", responses=responses(404))
def get_event(delivery_id: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    event = session.scalar(select(Event).where(Event.delivery_id == delivery_id))
    if event is None:
        raise HTTPException(404, f"no delivery {delivery_id!r} was received")
    return event_view(event)
