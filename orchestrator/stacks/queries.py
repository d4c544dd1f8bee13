"""Reading stack rows: one by id, a list of them, and the state lock Terraform holds on one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from orchestrator.models import Stack, StateLock


def stack(session: Session, stack_id: str) -> Stack | None:
    """The stack, deleted or not."""
    return session.get(Stack, stack_id)


def live_stack(session: Session, stack_id: str) -> Stack | None:
    """The stack unless it was deleted (its directory left the repository)."""
    found = session.get(Stack, stack_id)
    return None if found is None or found.deleted else found


# What a stack in a list shows (api/views.stack_view): its graph facts (inputs, state reads,
# hand-off and aws settings) stay in the database until the stack is read on its own.
_LISTED = load_only(
    Stack.id,
    Stack.repository_id,
    Stack.path,
    Stack.name,
    Stack.environment,
    Stack.backend_files,
    Stack.var_files,
    Stack.labels,
    Stack.autodeploy,
    Stack.managed_state,
    Stack.backend_type,
    Stack.worker_pool,
    Stack.depends_on,
    Stack.locked_by_run_id,
    Stack.state_recovery_artifact,
    Stack.state_recovery_run_id,
    Stack.drift_status,
    Stack.last_drift_check_at,
    Stack.deleted,
)


def stacks(session: Session, limit: int | None = None, offset: int = 0) -> list[Stack]:
    """The stacks by id, deleted ones too: all of them, or `limit` from position `offset`."""
    query = select(Stack).options(_LISTED).order_by(Stack.id).offset(offset or None)
    return list(session.scalars(query.limit(limit)))


def state_lock(session: Session, stack_id: str) -> StateLock | None:
    """The lock Terraform's http backend holds on the stack's managed state, if any."""
    return session.get(StateLock, stack_id)
