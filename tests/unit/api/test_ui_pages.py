"""The UI's pages on the in-process app: the buttons a role and a state allow, the server
refusing what the role does not, the same audit row as the API, filters and pages, escaping
of everything a push controls, the log stream's role, and /docs without a CDN."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from orchestrator import db as database
from orchestrator.auth import create_token
from orchestrator.models import AuditEntry, Pipeline, Run, Stack
from orchestrator.runstate import RunState
from tests.support.ui_browser import post_form, sign_in
from tests.unit.api.conftest import Api
from tests.unit.rows import add_stack

XSS = "<script>alert(1)</script>"


def _runs(count: int, **fields: Any) -> list[int]:
    """`count` runs of acme/p/vpc (the stack is made once)."""
    with database.session_scope() as session:
        if session.get(Run, 1) is None and not session.scalars(select(Run)).first():
            add_stack(session, labels=["net"])
            session.add(Pipeline(id=1, repository_id=1, commit_sha="a" * 40, branch="main"))
        rows = [
            Run(
                stack_id="acme/p/vpc",
                pipeline_id=1,
                kind=fields.get("kind", "TRACKED"),
                state=fields.get("state", RunState.FINISHED),
                commit_sha="a" * 40,
                commit_message=fields.get("message", "change"),
                branch="main",
                triggered_by="push",
                plan_summary=fields.get("plan_summary"),
            )
            for _ in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def _approver(api: Api) -> str:
    with database.session_scope() as session:
        return create_token(session, "approver", "approver")


def test_a_viewer_sees_no_approve_button_and_a_forged_approve_is_refused(api: Api) -> None:
    [run_id] = _runs(1, state=RunState.UNCONFIRMED, plan_summary={"add": 1})
    sign_in(api.client, api.tokens["viewer"])
    shown = api.client.get(f"/runs/{run_id}")
    assert shown.status_code == 200 and "b-approve" not in shown.text
    forged = post_form(api.client, f"/runs/{run_id}", f"/runs/{run_id}/approve", confirmed="yes")
    assert forged.status_code == 403 and "reviewing needs approver" in forged.text
    with database.session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None and run.state == RunState.UNCONFIRMED
        assert not session.scalars(
            select(AuditEntry).where(AuditEntry.action == "run.approve")
        ).all()


@pytest.mark.parametrize(
    ("role", "action", "refusal"),
    [
        ("viewer", "/stack-actions/trigger", "triggering a run needs approver"),
        ("approver", "/stack-actions/unlock", "unlocking a stack needs admin"),
        ("approver", "/pipelines/1/handoff", "retrying a hand-off needs admin"),
        ("viewer", "/runs/1/retry", "retrying a run needs approver"),
    ],
)
def test_every_action_is_refused_below_its_role_with_nothing_written(
    api: Api, role: str, action: str, refusal: str
) -> None:
    _runs(1, state=RunState.FAILED)
    token = _approver(api) if role == "approver" else api.tokens["viewer"]
    sign_in(api.client, token)
    refused = post_form(api.client, "/stacks", action, stack="acme/p/vpc")
    assert refused.status_code == 403 and refusal in refused.text
    with database.session_scope() as session:
        assert len(session.scalars(select(Run)).all()) == 1
        actions = set(session.scalars(select(AuditEntry.action)))
        assert actions <= {"ui.sign_in", "token.create"}, actions


def test_a_post_without_the_csrf_token_is_refused_before_anything_is_done(api: Api) -> None:
    [run_id] = _runs(1, state=RunState.UNCONFIRMED)
    sign_in(api.client, _approver(api))
    refused = api.client.post(f"/runs/{run_id}/discard", data={"comment": "x"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    with database.session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None and run.state == RunState.UNCONFIRMED


def test_approve_first_asks_naming_the_stack_and_plan_then_discard_audits_with_ip(
    api: Api,
) -> None:
    [run_id] = _runs(1, state=RunState.UNCONFIRMED, plan_summary={"add": 2, "change": 1})
    sign_in(api.client, _approver(api))
    page = api.client.get(f"/runs/{run_id}").text
    assert all(f"b-{a}" in page for a in ("approve", "reject", "discard"))
    asked = post_form(api.client, f"/runs/{run_id}", f"/runs/{run_id}/approve")
    assert asked.status_code == 200
    assert "acme/p/vpc" in asked.text and "+2 ~1 \u22120" in asked.text
    done = post_form(api.client, f"/runs/{run_id}", f"/runs/{run_id}/discard", comment="no")
    assert done.status_code == 303 and done.headers["location"] == f"/runs/{run_id}"
    with database.session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None and run.state == RunState.DISCARDED
        row = session.scalars(select(AuditEntry).where(AuditEntry.action == "run.discard")).one()
        assert row.actor == "approver" and row.source_ip == "testclient"


def test_runs_filter_by_state_and_page_by_id(api: Api) -> None:
    finished = _runs(60)
    failed = _runs(2, state=RunState.FAILED)
    sign_in(api.client, api.tokens["viewer"])
    only_failed = api.client.get("/runs?state=FAILED&stack=&pipeline=nonsense").text
    assert sorted(int(n) for n in re.findall(r'href="/runs/(\d+)"', only_failed)) == failed
    first = api.client.get("/runs").text
    assert f"/runs/{failed[-1]}" in first and "before=" in first
    older = re.search(r'href="(\?[^"]*before=\d+[^"]*)"', first)
    assert older is not None
    second = api.client.get("/runs" + older.group(1).replace("&amp;", "&")).text
    shown = {int(n) for n in re.findall(r'href="/runs/(\d+)"', second)}
    assert shown == set(finished[: len(finished) + len(failed) - 50])


def test_what_a_push_controls_is_escaped_everywhere(api: Api) -> None:
    [run_id] = _runs(1, message=XSS)
    sign_in(api.client, api.tokens["viewer"])
    for path in ("/runs", f"/runs/{run_id}", "/pipelines", "/pipelines/1", "/stacks/acme/p/vpc"):
        page = api.client.get(path)
        assert page.status_code == 200, path
        assert XSS not in page.text, path
    assert "&lt;script&gt;" in api.client.get(f"/runs/{run_id}").text
    assert "script-src 'self'" in api.client.get("/runs").headers["content-security-policy"]


def test_a_proposed_runs_log_stream_is_for_approvers(api: Api) -> None:
    [run_id] = _runs(1, kind="PROPOSED")
    sign_in(api.client, api.tokens["viewer"])
    assert api.client.get(f"/runs/{run_id}/log/stream").status_code == 403
    assert "for approvers" in api.client.get(f"/runs/{run_id}").text


def test_the_audit_page_is_for_admins_and_filters(api: Api) -> None:
    sign_in(api.client, api.tokens["viewer"])
    assert api.client.get("/audit").status_code == 403
    sign_in(api.client, api.tokens["admin"])
    page = api.client.get("/audit?action=ui.&actor=admin").text
    assert "ui.sign_in" in page and "token:viewer" not in page


def test_docs_load_swagger_ui_from_this_server_only(api: Api) -> None:
    docs = api.client.get("/docs")
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/docs/static/") for a in assets), assets
    assert "http" not in docs.text.replace("/openapi.json", "")
    for asset in assets:
        assert api.client.get(asset).status_code == 200, asset
    assert api.client.get("/redoc").status_code == 404


def test_stacks_filter_by_label_and_last_run_state_and_pipelines_count_states(api: Api) -> None:
    _runs(2)
    _runs(1, state=RunState.FAILED)
    with database.session_scope() as session:
        session.add(Stack(id="acme/p/eks", repository_id=1, path="eks", name="eks", labels=["k8s"]))
    sign_in(api.client, api.tokens["viewer"])
    assert _stack_links(api.client.get("/stacks").text) == ["acme/p/eks", "acme/p/vpc"]
    assert _stack_links(api.client.get("/stacks?label=k8s&state=&repository=").text) == [
        "acme/p/eks"
    ]
    assert _stack_links(api.client.get("/stacks?state=failed").text) == ["acme/p/vpc"]
    assert _stack_links(api.client.get("/stacks?state=FINISHED").text) == []
    listed = api.client.get("/pipelines?kind=TRACKED&repository=1").text
    assert "s-finished" in listed and "FINISHED</span>&nbsp;2" in listed
    assert "FAILED</span>&nbsp;1" in listed
    assert "No pipeline matches" in api.client.get("/pipelines?kind=PROPOSED").text


def _stack_links(page: str) -> list[str]:
    return re.findall(r'<td><a href="/stacks/([^"]+)">', page)
