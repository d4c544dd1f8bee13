"""Runs, pipelines and events: read them, approve or discard runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import PlainTextResponse
from starlette.convertors import StringConvertor, register_url_convertor

from orchestrator import repos
from orchestrator.api.deps import (
    Id,
    IdFilter,
    NumberFilter,
    PrincipalDep,
    RequestBody,
    SessionDep,
    authorized,
    page_limit,
    require,
    settle,
)
from orchestrator.api.errors import responses
from orchestrator.api.views import (
    event_view,
    pipeline_view,
    pipeline_views,
    run_detail_view,
    run_view,
)
from orchestrator.approvals import service as approvals
from orchestrator.artifacts.store import log_key, open_store
from orchestrator.auth import Principal
from orchestrator.handoff import actions as handoff_actions
from orchestrator.handoff import views as handoff_views
from orchestrator.models import Run
from orchestrator.runs import actions, queries
from orchestrator.webhooks import intake

router = APIRouter(prefix="/api/v1", tags=["runs"], responses=responses(401))


class Review(RequestBody):
    comment: str = ""


def _get_run(session: SessionDep, run_id: int) -> Run:
    run = queries.run(session, run_id)
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
    wanted = queries.RunFilter(stack, state, pipeline)
    return [run_view(r) for r in queries.runs(session, wanted, limit)]


@router.get("/runs/{run_id}", responses=responses(404))
def get_run(run_id: Id, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    return run_detail_view(session, _get_run(session, run_id))


def _log_reader(run_id: Id, session: SessionDep, who: PrincipalDep) -> Principal:
    """A proposed run's log is for approvers unless its repository opens it to viewers: the
    role depends on the run, so the run is found first (404), then the role checked (403)."""
    run = _get_run(session, run_id)
    return require(who, repos.logs_role(session, run), f"reading the log of a {run.kind} run")


@router.get("/runs/{run_id}/logs", response_class=PlainTextResponse, responses=responses(403, 404))
def get_logs(run_id: Id, who: Annotated[Principal, Depends(_log_reader)]) -> str:
    """A proposed run's log is for approvers unless its repository opens it to viewers."""
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
RUN_ACTIONS: dict[
    str, Callable[[SessionDep, int, Principal, str], actions.Done | actions.Refusal]
] = {
    "approve": approvals.approve,
    "reject": approvals.reject,
    "discard": actions.discard,
    "cancel": actions.cancel,
    "stop": actions.stop,
    "retry": lambda session, run_id, who, _comment: actions.retry(session, run_id, who),
}
# What each action is called in the refusal of a token below approver.
RUN_DOING = {
    "approve": "reviewing",
    "reject": "reviewing",
    "discard": "discard a run",
    "cancel": "cancel a run",
    "stop": "stop a run",
    "retry": "retrying a run",
}


def _run_actor(action: RunAction, who: PrincipalDep) -> Principal:
    """Every action on a run needs approver."""
    return require(who, "approver", RUN_DOING[action])


@router.post("/runs/{run_id}/{action:run_action}", responses=responses(403, 404, 409, 422))
def act_on_run(
    run_id: Id,
    action: RunAction,
    session: SessionDep,
    who: Annotated[Principal, Depends(_run_actor)],
    body: Review | None = None,
) -> dict[str, Any]:
    """approve | reject | discard | cancel | stop | retry, each refused with the reason as data."""
    done = settle(
        session, RUN_ACTIONS[action](session, run_id, who, body.comment if body else ""), who
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
    wanted = queries.PipelineFilter(ref, pr, repository, kind)
    return pipeline_views(session, queries.pipelines(session, wanted, limit))


@router.get("/pipelines/{pipeline_id}", responses=responses(404))
def get_pipeline(pipeline_id: Id, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    pipeline = queries.pipeline(session, pipeline_id)
    if pipeline is None:
        raise HTTPException(404, f"pipeline {pipeline_id} does not exist")
    return pipeline_view(session, pipeline)


@router.post(
    "/pipelines/{pipeline_id}/handoff", status_code=202, responses=responses(403, 404, 409)
)
def retry_handoff(
    pipeline_id: Id,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "retrying a hand-off")],
) -> dict[str, Any]:
    """Hand the pipeline's cluster off again (admin): a new pending attempt."""
    settle(session, handoff_actions.retry_handoff(session, pipeline_id, who), who)
    return {"pipeline": pipeline_id, "handoffs": handoff_views.views(session, pipeline_id)}


@router.get("/events/{delivery_id}", responses=responses(404))
def get_event(delivery_id: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    event = intake.delivery(session, delivery_id)
    if event is None:
        raise HTTPException(404, f"no delivery {delivery_id!r} was received")
    return event_view(event)
