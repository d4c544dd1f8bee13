"""Variables of stacks, contexts and repositories, and the contexts themselves. Reading needs
any token; writing needs admin and is audited (never with the value)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException
from pydantic import Field

from orchestrator import repos
from orchestrator.api.deps import Id, PrincipalDep, RequestBody, SessionDep, authorized
from orchestrator.api.errors import responses
from orchestrator.auth import Principal, audit
from orchestrator.models import Context
from orchestrator.secrets.envelope import SecretsUnavailable, SecretTampered
from orchestrator.settings import get_settings
from orchestrator.stacks import queries as stacks
from orchestrator.variables import contexts, service
from orchestrator.variables.service import Owner

router = APIRouter(prefix="/api/v1", tags=["variables"], responses=responses(401))
T = TypeVar("T")
# Reading decrypts (the key service may be down, a stored value may fail its check); writing
# seals, and refuses a bad name or value (422) or a clash with what is stored (409).
READS = responses(404, 500, 503)
WRITES = responses(403, 404, 409, 422, 500, 503)
DELETES = responses(403, 404)
Setter = Annotated[Principal, authorized("admin", "setting a variable")]
Deleter = Annotated[Principal, authorized("admin", "deleting a variable")]


class VariableBody(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    value: str
    secret: bool = False
    kind: Literal["env", "terraform"] = "env"


class ContextBody(RequestBody):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
    description: str = ""
    labels: list[str] = Field(default_factory=list)


class ContextPatch(RequestBody):
    description: str | None = None
    labels: list[str] | None = None


def _key_service(call: Callable[[], T]) -> T:
    """The key service being down is a 503 that says so; a tampered value is a 500 naming it."""
    try:
        return call()
    except SecretsUnavailable as exc:
        raise HTTPException(503, f"secrets are unavailable: {exc}") from None
    except SecretTampered as exc:
        raise HTTPException(500, f"a stored value failed its integrity check: {exc}") from None


def _stack_owner(session: SessionDep, stack_id: str) -> Owner:
    stack = stacks.live_stack(session, stack_id)
    if stack is None:
        raise HTTPException(404, f"stack {stack_id!r} does not exist")
    return Owner("stack", stack.id)


def _context_owner(session: SessionDep, name: str) -> Owner:
    return Owner("context", _context(session, name).name)


def _repository_owner(session: SessionDep, repository_id: int) -> Owner:
    repository = repos.repository(session, repository_id)
    if repository is None:
        raise HTTPException(404, f"repository {repository_id} does not exist")
    return Owner("repository", repository.name)


def _list(session: SessionDep, owner: Owner) -> list[dict[str, Any]]:
    settings = get_settings()
    rows = service.listed(session, owner)
    return _key_service(lambda: [service.view(row, settings) for row in rows])


def _put(
    session: SessionDep, owner: Owner, body: VariableBody, who: Principal, create_only: bool
) -> dict[str, Any]:
    """`who` is an admin (the route's `Setter`)."""
    settings = get_settings()
    given = service.VariableIn(body.name, body.value, body.secret, body.kind)
    row = _key_service(
        lambda: service.put(session, owner, given, who.name, settings, create_only=create_only)
    )
    if isinstance(row, service.Refused):
        session.rollback()
        raise HTTPException(row.status, row.reason)
    detail = {"name": row.name, "kind": row.kind, "secret": row.secret}
    audit(session, who.name, "variable.set", f"{owner.scope}:{owner.key}", detail)
    shown = _key_service(lambda: service.view(row, settings))
    session.commit()
    return shown


def _delete(session: SessionDep, owner: Owner, name: str, kind: str, who: Principal) -> None:
    """`who` is an admin (the route's `Deleter`)."""
    row = service.delete(session, owner, kind, name)
    if isinstance(row, service.Refused):
        session.rollback()
        raise HTTPException(row.status, row.reason)
    detail = {"name": name, "kind": kind}
    audit(session, who.name, "variable.delete", f"{owner.scope}:{owner.key}", detail)
    session.commit()


@router.get("/stacks/{stack_id:path}/variables", responses=READS)
def stack_variables(stack_id: str, session: SessionDep, who: PrincipalDep) -> list[dict[str, Any]]:
    return _list(session, _stack_owner(session, stack_id))


@router.post("/stacks/{stack_id:path}/variables", status_code=201, responses=WRITES)
def create_stack_variable(
    stack_id: str, body: VariableBody, session: SessionDep, who: Setter
) -> dict[str, Any]:
    return _put(session, _stack_owner(session, stack_id), body, who, create_only=True)


@router.put("/stacks/{stack_id:path}/variables", responses=WRITES)
def put_stack_variable(
    stack_id: str, body: VariableBody, session: SessionDep, who: Setter
) -> dict[str, Any]:
    return _put(session, _stack_owner(session, stack_id), body, who, create_only=False)


@router.delete("/stacks/{stack_id:path}/variables/{name}", status_code=204, responses=DELETES)
def delete_stack_variable(
    stack_id: str,
    name: str,
    session: SessionDep,
    who: Deleter,
    kind: Literal["env", "terraform"] = "env",
) -> None:
    _delete(session, _stack_owner(session, stack_id), name, kind, who)


@router.get("/repositories/{repository_id}/variables", responses=READS)
def repository_variables(
    repository_id: Id, session: SessionDep, who: PrincipalDep
) -> list[dict[str, Any]]:
    return _list(session, _repository_owner(session, repository_id))


@router.put("/repositories/{repository_id}/variables", responses=WRITES)
def put_repository_variable(
    repository_id: Id, body: VariableBody, session: SessionDep, who: Setter
) -> dict[str, Any]:
    return _put(session, _repository_owner(session, repository_id), body, who, create_only=False)


@router.delete("/repositories/{repository_id}/variables/{name}", status_code=204, responses=DELETES)
def delete_repository_variable(
    repository_id: Id,
    name: str,
    session: SessionDep,
    who: Deleter,
    kind: Literal["env", "terraform"] = "env",
) -> None:
    _delete(session, _repository_owner(session, repository_id), name, kind, who)


def _context_view(session: SessionDep, context: Context) -> dict[str, Any]:
    return {
        "name": context.name,
        "description": context.description,
        "labels": context.attach_labels,
        "created_by": context.created_by,
        "created_at": context.created_at.isoformat(),
        "variables": _list(session, Owner("context", context.name)),
    }


def _context(session: SessionDep, name: str) -> Context:
    context = contexts.named(session, name)
    if context is None:
        raise HTTPException(404, f"context {name!r} does not exist")
    return context


@router.get("/contexts", responses=responses(500, 503))
def list_contexts(session: SessionDep, who: PrincipalDep) -> list[dict[str, Any]]:
    return [_context_view(session, c) for c in contexts.listed(session)]


@router.post("/contexts", status_code=201, responses=responses(403, 409, 500, 503))
def create_context(
    body: ContextBody,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "creating a context")],
) -> dict[str, Any]:
    context = contexts.create(session, body.name, body.description, body.labels, who.name)
    if isinstance(context, service.Refused):
        raise HTTPException(context.status, context.reason)
    session.commit()
    return _context_view(session, context)


@router.get("/contexts/{name}", responses=READS)
def get_context(name: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    return _context_view(session, _context(session, name))


@router.patch("/contexts/{name}", responses=responses(403, 404, 500, 503))
def patch_context(
    name: str,
    body: ContextPatch,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "changing a context")],
) -> dict[str, Any]:
    context = _context(session, name)
    contexts.update(session, context, body.description, body.labels, who.name)
    session.commit()
    return _context_view(session, context)


@router.delete("/contexts/{name}", status_code=204, responses=DELETES)
def delete_context(
    name: str,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "deleting a context")],
) -> None:
    contexts.delete(session, _context(session, name), who.name)
    session.commit()


@router.get("/contexts/{name}/variables", responses=READS)
def context_variables(name: str, session: SessionDep, who: PrincipalDep) -> list[dict[str, Any]]:
    return _list(session, _context_owner(session, name))


@router.post("/contexts/{name}/variables", status_code=201, responses=WRITES)
def create_context_variable(
    name: str, body: VariableBody, session: SessionDep, who: Setter
) -> dict[str, Any]:
    return _put(session, _context_owner(session, name), body, who, create_only=True)


@router.put("/contexts/{name}/variables", responses=WRITES)
def put_context_variable(
    name: str, body: VariableBody, session: SessionDep, who: Setter
) -> dict[str, Any]:
    return _put(session, _context_owner(session, name), body, who, create_only=False)


@router.delete("/contexts/{name}/variables/{variable}", status_code=204, responses=DELETES)
def delete_context_variable(
    name: str,
    variable: str,
    session: SessionDep,
    who: Deleter,
    kind: Literal["env", "terraform"] = "env",
) -> None:
    _delete(session, _context_owner(session, name), variable, kind, who)
