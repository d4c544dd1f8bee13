"""What an admin sets on a stack over its stackrun.hcl: today, its drift detection."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orchestrator.auth import audit
from orchestrator.models import Stack
from orchestrator.stackconfig import drift as schedule


def override_drift(
    session: Session, stack: Stack, detection: dict[str, Any] | None, actor: str
) -> str | None:
    """Set the stack's `drift_detection` override (`schedules`, `reconcile`; None restores
    stackrun.hcl's) and audit it; why a schedule is invalid, nothing changed, otherwise None."""
    if detection is not None:
        errors = [e for e in map(schedule.invalid_schedule, detection["schedules"]) if e]
        if errors:
            return "; ".join(errors)
    stack.drift_override = detection
    audit(session, actor, "stack.patch", f"stack:{stack.id}", {"drift_detection": detection})
    return None
