"""Contexts: named bundles of variables, attached to every stack that carries one of their
labels. Writing one is audited; deleting one deletes its variables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.auth import audit
from orchestrator.models import Context, Variable
from orchestrator.variables.service import Refused


def named(session: Session, name: str) -> Context | None:
    return session.scalar(select(Context).where(Context.name == name))


def listed(session: Session) -> list[Context]:
    """Every context, by name."""
    return list(session.scalars(select(Context).order_by(Context.name)))


def create(
    session: Session, name: str, description: str, labels: Sequence[str], actor: str
) -> Context | Refused:
    if named(session, name) is not None:
        return Refused(409, f"context {name!r} already exists")
    context = Context(
        name=name,
        description=description,
        attach_labels=sorted(set(labels)),
        created_by=actor,
    )
    session.add(context)
    audit(session, actor, "context.create", f"context:{name}", {"labels": list(labels)})
    return context


def update(
    session: Session,
    context: Context,
    description: str | None,
    labels: Sequence[str] | None,
    actor: str,
) -> None:
    """Change what is given; None keeps a field as it is."""
    if description is not None:
        context.description = description
    if labels is not None:
        context.attach_labels = sorted(set(labels))
    detail = {"description": description, "labels": None if labels is None else list(labels)}
    audit(session, actor, "context.update", f"context:{context.name}", detail)


def delete(session: Session, context: Context, actor: str) -> None:
    """The context and every variable it holds."""
    session.execute(
        sql_delete(Variable).where(Variable.scope == "context", Variable.owner == context.name)
    )
    session.delete(context)
    audit(session, actor, "context.delete", f"context:{context.name}")
