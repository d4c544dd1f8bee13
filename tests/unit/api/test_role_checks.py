"""One role check, the API's dependency: a token below the route's role meets its 403 (logged,
naming what it was doing) before the service is called, and nothing is written or rung."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from orchestrator import db as database
from orchestrator.auth import create_token
from orchestrator.handoff.spec import HandoffSpec, RootSpec
from orchestrator.models import AuditEntry, Handoff, Pipeline, Run, Stack
from orchestrator.runstate import RunState
from tests.unit.api.conftest import Api
from tests.unit.rows import add_stack

BOOTSTRAP = "acme/p/bootstrap"
SPEC = HandoffSpec(
    repository="file:///nowhere/gitops.git",
    root=RootSpec(repo_url="https://git.example.com/acme/platform.git", path="bootstrap"),
)

# (method, path, body, what the refusal names): every route that needs more than a viewer.
ADMIN_ONLY = [
    ("post", "/api/v1/tokens", {"name": "x", "role": "admin"}, "creating a token"),
    ("post", "/api/v1/tokens/x/revoke", None, "revoking a token"),
    ("get", "/api/v1/audit", None, "reading the audit trail"),
    ("post", "/api/v1/notifications", {"url": "", "events": [], "secret": ""}, "adding a"),
    ("get", "/api/v1/notifications", None, "reading notification targets"),
    ("post", "/api/v1/policies", {"name": "p"}, "creating a policy"),
    ("put", "/api/v1/policies/p", {}, "updating a policy"),
    ("post", "/api/v1/repositories", {"name": "r"}, "registering a repository"),
    ("patch", "/api/v1/repositories/1", {}, "configuring a repository"),
    ("post", "/api/v1/stacks/acme/p/vpc/unlock", None, "unlocking a stack"),
    ("post", "/api/v1/stacks/acme/p/vpc/state/recover", None, "recovering a stack's state"),
    ("patch", "/api/v1/stacks/acme/p/vpc", {}, "changing a stack's drift detection"),
    ("put", "/api/v1/stacks/acme/p/vpc/variables", {}, "setting a variable"),
    ("delete", "/api/v1/stacks/acme/p/vpc/variables/X", None, "deleting a variable"),
    ("post", "/api/v1/contexts", {"name": "c"}, "creating a context"),
    ("patch", "/api/v1/contexts/c", {}, "changing a context"),
    ("delete", "/api/v1/contexts/c", None, "deleting a context"),
    ("post", "/api/v1/pipelines/1/handoff", None, "retrying a hand-off"),
]
APPROVER_ONLY = [
    ("post", "/api/v1/runs/1/approve", None, "reviewing"),
    ("post", "/api/v1/runs/1/reject", None, "reviewing"),
    ("post", "/api/v1/runs/1/discard", None, "discard a run"),
    ("post", "/api/v1/runs/1/cancel", None, "cancel a run"),
    ("post", "/api/v1/runs/1/stop", None, "stop a run"),
    ("post", "/api/v1/runs/1/retry", None, "retrying a run"),
    ("post", "/api/v1/stacks/acme/p/vpc/runs", None, "triggering a run"),
    ("post", "/api/v1/stacks/acme/p/vpc/drift-check", None, "starting a drift check"),
]


def _call(api: Api, role: str, method: str, path: str, body: Any) -> Any:
    return api.client.request(method, path, headers=api.auth(role), json=body)


@pytest.mark.parametrize(("method", "path", "body", "doing"), ADMIN_ONLY + APPROVER_ONLY)
def test_a_viewer_is_refused_every_route_that_needs_more(
    api: Api, method: str, path: str, body: Any, doing: str
) -> None:
    response = _call(api, "viewer", method, path, body)
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert detail.startswith("token 'viewer' has role viewer; " + doing), detail


@pytest.mark.parametrize(("method", "path", "body", "doing"), ADMIN_ONLY)
def test_an_approver_is_refused_every_admin_route(
    api: Api, method: str, path: str, body: Any, doing: str
) -> None:
    with database.session_scope() as session:
        token = create_token(session, "ann", "approver")
    headers = {"Authorization": f"Bearer {token}"}
    response = api.client.request(method, path, headers=headers, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["detail"].endswith(" needs admin")


def test_an_approver_passes_the_check_and_meets_the_service(api: Api) -> None:
    """Past the role check, the service answers: here, that the run does not exist."""
    with database.session_scope() as session:
        token = create_token(session, "ann", "approver")
    headers = {"Authorization": f"Bearer {token}"}
    response = api.client.post("/api/v1/runs/1/approve", headers=headers)
    assert response.status_code == 404 and response.json()["detail"] == "run 1 does not exist"


def _handed_off_pipeline() -> int:
    """acme/p/bootstrap, which declares a hand-off; a pipeline whose run of it FINISHED and
    whose hand-off failed: one an admin may hand off again."""
    with database.session_scope() as session:
        add_stack(session)
        session.add(
            Stack(
                id=BOOTSTRAP,
                repository_id=1,
                path="bootstrap",
                name="bootstrap",
                handoff=SPEC.to_json(),
            )
        )
        pipeline = Pipeline(repository_id=1, commit_sha="a" * 40, branch="main")
        session.add(pipeline)
        session.flush()
        run = Run(
            stack_id=BOOTSTRAP,
            pipeline_id=pipeline.id,
            kind="TRACKED",
            state=RunState.FINISHED,
            commit_sha="a" * 40,
            branch="main",
            triggered_by="push:dev",
        )
        session.add(run)
        session.flush()
        session.add(
            Handoff(
                pipeline_id=pipeline.id,
                run_id=run.id,
                stack_id=BOOTSTRAP,
                status="failed",
                spec=SPEC.to_json(),
                triggered_by="stackrun",
            )
        )
        return pipeline.id


def _handoffs_and_audit() -> tuple[int, int]:
    """How many hand-off attempts there are, and how many audit rows other than tokens'."""
    with database.session_scope() as session:
        handoffs = session.scalar(select(func.count()).select_from(Handoff))
        audited = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action != "token.create")
        )
    return int(handoffs or 0), int(audited or 0)


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_retrying_a_handoff_needs_an_admin(api: Api, role: str) -> None:
    pipeline_id = _handed_off_pipeline()
    headers = api.auth(role) if role in api.tokens else None
    if headers is None:
        with database.session_scope() as session:
            headers = {"Authorization": f"Bearer {create_token(session, role, role)}"}
    response = api.client.post(f"/api/v1/pipelines/{pipeline_id}/handoff", headers=headers)
    assert response.status_code == 403, response.text
    assert _handoffs_and_audit() == (1, 0)


def test_the_same_handoff_retry_by_an_admin_starts_a_new_attempt(api: Api) -> None:
    pipeline_id = _handed_off_pipeline()
    path = f"/api/v1/pipelines/{pipeline_id}/handoff"
    response = api.client.post(path, headers=api.auth("admin"))
    assert response.status_code == 202, response.text
    assert [h["status"] for h in response.json()["handoffs"]] == ["failed", "pending"]
    assert _handoffs_and_audit() == (2, 1)
