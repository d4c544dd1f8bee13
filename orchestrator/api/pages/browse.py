"""The lists: stacks, runs, pipelines, repositories, policies, audit. Filters are query
parameters (a blank one is no filter); pages go by `before` (an id) or `page`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from orchestrator.api.deps import SessionDep, require
from orchestrator.api.pages.common import MeDep, page
from orchestrator.models import MAX_INTEGER
from orchestrator.policy import store as policies
from orchestrator.runstate import RunKind, RunState
from orchestrator.ui import lists

router = APIRouter(include_in_schema=False)
Text = Annotated[str | None, Query(max_length=500)]
STATES = [s.value for s in RunState]
KINDS = [k.value for k in RunKind]


def number(value: str | None) -> int | None:
    """A positive row id from a query parameter; blank or nonsense is no filter."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    found = int(text)
    return found if 1 <= found <= MAX_INTEGER else None


def _params(**given: str | None) -> dict[str, str]:
    return {k: v for k, v in given.items() if v}


@router.get("/")
def home(me: MeDep) -> RedirectResponse:
    return RedirectResponse("/pipelines", 303)


@router.get("/stacks")
def stacks(
    session: SessionDep,
    me: MeDep,
    label: Text = None,
    state: Text = None,
    repository: Text = None,
    page_number: Annotated[str | None, Query(alias="page")] = None,
) -> HTMLResponse:
    wanted = lists.StackFilter(label or None, state or None, number(repository))
    found = lists.stacks(session, wanted, number(page_number) or 1)
    params = _params(label=label, state=state, repository=repository)
    return page(
        session,
        me,
        "stacks.html",
        title="Stacks",
        page=found,
        params=params,
        states=STATES,
        repositories=lists.repositories(session),
    )


@router.get("/runs")
def runs(
    session: SessionDep,
    me: MeDep,
    state: Text = None,
    stack: Text = None,
    kind: Text = None,
    pipeline: Text = None,
    before: Text = None,
) -> HTMLResponse:
    wanted = lists.RunFilter(state or None, stack or None, kind or None, number(pipeline))
    found = lists.runs(session, wanted, number(before))
    params = _params(state=state, stack=stack, kind=kind, pipeline=pipeline)
    return page(
        session,
        me,
        "runs.html",
        title="Runs",
        page=found,
        params=params,
        states=STATES,
        kinds=KINDS,
    )


@router.get("/pipelines")
def pipelines(
    session: SessionDep,
    me: MeDep,
    repository: Text = None,
    kind: Text = None,
    branch: Text = None,
    before: Text = None,
) -> HTMLResponse:
    wanted = lists.PipelineFilter(number(repository), kind or None, branch or None)
    found = lists.pipelines(session, wanted, number(before))
    params = _params(repository=repository, kind=kind, branch=branch)
    return page(
        session,
        me,
        "pipelines.html",
        title="Pipelines",
        page=found,
        params=params,
        repositories=lists.repositories(session),
    )


@router.get("/repositories")
def repositories(session: SessionDep, me: MeDep) -> HTMLResponse:
    return page(
        session,
        me,
        "repositories.html",
        title="Repositories",
        repositories=lists.repositories(session),
    )


@router.get("/policies")
def policy_list(session: SessionDep, me: MeDep) -> HTMLResponse:
    return page(session, me, "policies.html", title="Policies", policies=policies.listed(session))


def _since(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


@router.get("/audit")
def audit(
    session: SessionDep,
    me: MeDep,
    actor: Text = None,
    action: Text = None,
    target: Text = None,
    since: Text = None,
    before: Text = None,
) -> HTMLResponse:
    require(me.principal, "admin", "reading the audit trail")
    wanted = lists.AuditFilter(actor or None, action or None, target or None, _since(since))
    found = lists.audit(session, wanted, number(before))
    params = _params(actor=actor, action=action, target=target, since=since)
    return page(session, me, "audit.html", title="Audit", page=found, params=params)
