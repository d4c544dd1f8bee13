"""Stackrun-managed Terraform state behind the http backend protocol; every version kept."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.models import Run, StateLock, StateVersion
from orchestrator.runs.state import RunState, is_terminal


@dataclass(frozen=True)
class StateRefusal:
    status: int
    reason: str
    body: dict[str, Any] | None = None


def run_for_credential(session: Session, stack_id: str, username: str, password: str) -> Run | None:
    """The live run of this stack that owns the Basic-auth credential, if any."""
    if not username.startswith("run-") or not username[4:].isdigit():
        return None
    run = session.get(Run, int(username[4:]))
    if run is None or run.stack_id != stack_id or run.state_credential_hash is None:
        return None
    if is_terminal(RunState(run.state)):
        return None
    digest = hashlib.sha256(password.encode()).hexdigest()
    return run if hmac.compare_digest(digest, run.state_credential_hash) else None


def latest(session: Session, stack_id: str) -> StateVersion | None:
    return session.scalar(
        select(StateVersion)
        .where(StateVersion.stack_id == stack_id)
        .order_by(StateVersion.id.desc())
        .limit(1)
    )


def save(
    session: Session, stack_id: str, content: bytes, lock_id: str | None, run_id: int | None
) -> StateVersion | StateRefusal:
    current_lock = session.get(StateLock, stack_id)
    if current_lock is not None and current_lock.lock_id != (lock_id or ""):
        return StateRefusal(
            409, f"state of {stack_id} is locked by {current_lock.lock_id}", current_lock.info
        )
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        return StateRefusal(400, f"state of {stack_id} is not JSON: {exc}")
    if not isinstance(document, dict) or not isinstance(document.get("serial", 0), int):
        return StateRefusal(400, f"state of {stack_id} must be an object with an integer serial")
    version = StateVersion(
        stack_id=stack_id,
        serial=int(document.get("serial", 0)),
        lineage=str(document.get("lineage", "")),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        run_id=run_id,
    )
    session.add(version)
    session.flush()
    return version


def lock(
    session: Session, stack_id: str, info: dict[str, Any], run_id: int | None = None
) -> StateLock | StateRefusal:
    lock_id = str(info.get("ID", ""))
    if not lock_id:
        return StateRefusal(400, "lock info has no ID")
    existing = session.get(StateLock, stack_id)
    if existing is not None:
        if existing.lock_id == lock_id:
            return existing
        return StateRefusal(423, f"state of {stack_id} is already locked", existing.info)
    row = StateLock(stack_id=stack_id, lock_id=lock_id, info=info, run_id=run_id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        held = session.get(StateLock, stack_id, populate_existing=True)
        return StateRefusal(
            423, f"state of {stack_id} is already locked", held.info if held else None
        )
    return row


def outputs_of(session: Session, stack_id: str, run_id: int) -> dict[str, Any] | None:
    """The root outputs of the state this run wrote, shaped like `terraform output -json`
    (so no extra terraform process is needed after an apply); None if the run wrote none."""
    version = session.scalar(
        select(StateVersion)
        .where(StateVersion.stack_id == stack_id, StateVersion.run_id == run_id)
        .order_by(StateVersion.id.desc())
        .limit(1)
    )
    if version is None:
        return None
    outputs = json.loads(version.content).get("outputs") or {}
    return {
        name: {
            "value": o.get("value"),
            "type": o.get("type"),
            "sensitive": bool(o.get("sensitive", False)),
        }
        for name, o in outputs.items()
    }


def release_locks_of_run(session: Session, run_id: int) -> None:
    """A run that ended cannot unlock any more (its credential is gone): free what it held."""
    session.execute(delete(StateLock).where(StateLock.run_id == run_id))


def unlock(session: Session, stack_id: str, info: dict[str, Any] | None) -> StateRefusal | None:
    existing = session.get(StateLock, stack_id)
    if existing is None:
        return None
    lock_id = str((info or {}).get("ID", ""))
    if lock_id and lock_id != existing.lock_id:
        return StateRefusal(
            409,
            f"state of {stack_id} is locked by {existing.lock_id}, not {lock_id}",
            existing.info,
        )
    session.delete(existing)
    session.flush()
    return None
