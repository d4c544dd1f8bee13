"""The detail pages: a run, a pipeline, a stack, a repository, a policy."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from orchestrator.api.deps import Id, SessionDep
from orchestrator.api.pages.common import MeDep, page
from orchestrator.policy import store as policies
from orchestrator.runs import queries
from orchestrator.stacks import queries as stacks
from orchestrator.ui import ansi, detail, live, playground

router = APIRouter(include_in_schema=False)


@router.get("/runs/{run_id}")
def run(run_id: Id, session: SessionDep, me: MeDep) -> HTMLResponse:
    found = queries.run(session, run_id)
    if found is None:
        raise HTTPException(404, f"run {run_id} does not exist")
    view = detail.run_page(session, found, me.principal)
    allowed = me.principal.has(view.log_role)
    raw = live.read_log(run_id, 0) if allowed else b""
    shown = live.tail_of(raw)
    return page(
        session,
        me,
        "run.html",
        title=f"Run #{run_id}",
        view=view,
        log_allowed=allowed,
        log_html=ansi.to_html(shown.decode("utf-8", errors="replace")),
        log_offset=len(raw),
        log_cut=len(raw) - len(shown),
    )


@router.get("/pipelines/{pipeline_id}")
def pipeline(pipeline_id: Id, session: SessionDep, me: MeDep) -> HTMLResponse:
    found = queries.pipeline(session, pipeline_id)
    if found is None:
        raise HTTPException(404, f"pipeline {pipeline_id} does not exist")
    view = detail.pipeline_page(session, found)
    return page(session, me, "pipeline.html", title=f"Pipeline #{pipeline_id}", view=view)


@router.get("/stacks/{stack_id:path}")
def stack(stack_id: str, session: SessionDep, me: MeDep) -> HTMLResponse:
    found = stacks.stack(session, stack_id)
    if found is None:
        raise HTTPException(404, f"stack {stack_id!r} does not exist")
    view = detail.stack_page(session, found)
    return page(session, me, "stack.html", title=found.id, view=view)


@router.get("/repositories/{repository_id}")
def repository(repository_id: Id, session: SessionDep, me: MeDep) -> HTMLResponse:
    found = detail.repository(session, repository_id)
    if found is None:
        raise HTTPException(404, f"repository {repository_id} does not exist")
    view = detail.repository_page(session, found)
    return page(session, me, "repository.html", title=found.name, view=view)


@router.get("/policies/{name}")
def policy(name: str, session: SessionDep, me: MeDep) -> HTMLResponse:
    found = policies.named(session, name)
    if found is None:
        raise HTTPException(404, f"policy {name!r} does not exist")
    return page(
        session,
        me,
        "policy.html",
        title=f"Policy {name}",
        policy=found,
        versions=playground.versions(session, found),
        chosen_version=found.version,
    )
