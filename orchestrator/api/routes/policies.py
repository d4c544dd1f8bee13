"""Rego policies: list, read, create, update (admin only for writes); every version kept."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import Field

from orchestrator.api.deps import PrincipalDep, RequestBody, SessionDep, authorized
from orchestrator.api.errors import responses
from orchestrator.auth import Principal, audit
from orchestrator.models import Policy
from orchestrator.policy import store

router = APIRouter(prefix="/api/v1/policies", tags=["policies"], responses=responses(401))


class PolicyIn(RequestBody):
    name: str
    type: str | None = None
    body: str | None = None
    builtin: str | None = Field(None, description="attach a built-in policy by its name")
    attach_labels: list[str] = Field(default_factory=list, description="empty = every stack")
    parameters: dict[str, Any] | None = None


class PolicyUpdate(RequestBody):
    """Fields left out keep their value; a new body or built-in makes a new version."""

    type: str | None = None
    body: str | None = None
    builtin: str | None = None
    attach_labels: list[str] | None = None
    parameters: dict[str, Any] | None = None


def _settled(session: SessionDep, result: Policy | store.PolicyRefused) -> Policy:
    if isinstance(result, store.PolicyRefused):
        session.rollback()
        raise HTTPException(result.status, result.reason)
    return result


@router.get("")
def list_policies(session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    rows = store.listed(session)
    return {"policies": [store.view(p) for p in rows], "builtin": store.builtin_names()}


@router.get("/{name}", responses=responses(404))
def get_policy(name: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    policy = store.named(session, name)
    if policy is None:
        raise HTTPException(404, f"policy {name!r} does not exist")
    return store.view(policy)


@router.post("", status_code=201, responses=responses(403, 409, 422))
def create_policy(
    body: PolicyIn,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "creating a policy")],
) -> dict[str, Any]:
    draft = store.PolicyDraft(
        body.name, body.type, body.body, tuple(body.attach_labels), body.parameters, body.builtin
    )
    policy = _settled(session, store.create(session, draft, who.name))
    audit(session, who.name, "policy.create", f"policy:{policy.name}", {"version": 1})
    session.commit()
    return store.view(policy)


@router.put("/{name}", responses=responses(403, 404, 422))
def update_policy(
    name: str,
    body: PolicyUpdate,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "updating a policy")],
) -> dict[str, Any]:
    labels = tuple(body.attach_labels) if body.attach_labels is not None else None
    draft = store.PolicyDraft(name, body.type, body.body, labels, body.parameters, body.builtin)
    policy = _settled(session, store.update(session, name, draft, who.name))
    audit(session, who.name, "policy.update", f"policy:{name}", {"version": policy.version})
    session.commit()
    return store.view(policy)
