"""Reading stack rows: one by id, every one, and the state lock Terraform holds on one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import Stack, StateLock


def stack(session: Session, stack_id: str) -> Stack | None:
    """The stack, deleted or not."""
    return session.get(Stack, stack_id)


def live_stack(session: Session, stack_id: str) -> Stack | None:
    """The stack unless it was deleted (its directory left the repository)."""
    found = session.get(Stack, stack_id)
    return None if found is None or found.deleted else found


def stacks(session: Session) -> list[Stack]:
    """Every stack, deleted ones too, by id."""
    return list(session.scalars(select(Stack).order_by(Stack.id)))


def state_lock(session: Session, stack_id: str) -> StateLock | None:
    """The lock Terraform's http backend holds on the stack's managed state, if any."""
    return session.get(StateLock, stack_id)
