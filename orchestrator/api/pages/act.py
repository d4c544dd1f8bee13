"""The actions of the UI: every one a POST carrying the session's CSRF token, checked with
the API's one role check and done by the very service the API route calls (so it writes the
same audit row, with the browser's address)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from orchestrator.api.deps import Id, SessionDep, require, settle
from orchestrator.api.pages.browse import number
from orchestrator.api.pages.common import SECURITY_HEADERS, FormDep, MeDep, page
from orchestrator.api.routes.runs import RUN_ACTIONS, RUN_DOING, RunAction
from orchestrator.handoff import actions as handoff_actions
from orchestrator.policy import store as policies
from orchestrator.runs import actions, queries
from orchestrator.ui import playground
from orchestrator.ui.render import stack_url

router = APIRouter(include_in_schema=False)


def _see(location: str) -> Response:
    return Response(status_code=303, headers={"Location": location, **SECURITY_HEADERS})


@router.post("/runs/{run_id}/{action:run_action}")
def act_on_run(
    run_id: Id, action: RunAction, session: SessionDep, me: MeDep, fields: FormDep
) -> Response:
    """Approve asks first, on a page naming the stack and the plan summary."""
    require(me.principal, "approver", RUN_DOING[action])
    if action == "approve" and fields.get("confirmed") != "yes":
        run = queries.run(session, run_id)
        if run is None:
            raise HTTPException(404, f"run {run_id} does not exist")
        return page(session, me, "confirm.html", title=f"Approve run #{run_id}", run=run)
    comment = fields.get("comment", "")[:2000]
    settle(session, RUN_ACTIONS[action](session, run_id, me.principal, comment), me.principal)
    return _see(f"/runs/{run_id}")


@router.post("/stack-actions/trigger")
def trigger(session: SessionDep, me: MeDep, fields: FormDep) -> Response:
    require(me.principal, "approver", "triggering a run")
    stack_id = fields.get("stack", "")
    done = settle(session, actions.trigger(session, stack_id, me.principal, None), me.principal)
    return _see(f"/runs/{done.run_id}")


@router.post("/stack-actions/unlock")
def unlock(session: SessionDep, me: MeDep, fields: FormDep) -> Response:
    require(me.principal, "admin", "unlocking a stack")
    stack_id = fields.get("stack", "")
    settle(session, actions.unlock(session, stack_id, me.principal), me.principal)
    return _see(stack_url(stack_id))


@router.post("/pipelines/{pipeline_id}/handoff")
def retry_handoff(pipeline_id: Id, session: SessionDep, me: MeDep, fields: FormDep) -> Response:
    require(me.principal, "admin", "retrying a hand-off")
    settle(session, handoff_actions.retry_handoff(session, pipeline_id, me.principal), me.principal)
    return _see(f"/pipelines/{pipeline_id}")


@router.post("/policies/{name}/playground")
def evaluate(name: str, session: SessionDep, me: MeDep, fields: FormDep) -> Response:
    """Nothing is written: the session is rolled back whatever the policy did."""
    policy = policies.named(session, name)
    if policy is None:
        raise HTTPException(404, f"policy {name!r} does not exist")
    run = queries.run(session, number(fields.get("run")) or 0)
    if run is None:
        raise HTTPException(404, f"run {fields.get('run', '')!r} does not exist")
    require(me.principal, playground.reader_role(session, run), f"reading a {run.kind} run's plan")
    version = number(fields.get("version")) or policy.version
    decision = playground.evaluate(session, policy, version, run)
    session.rollback()
    return page(
        session,
        me,
        "policy.html",
        title=f"Policy {name}",
        policy=policy,
        versions=playground.versions(session, policy),
        chosen_version=version,
        chosen_run=run.id,
        decision=decision,
    )
