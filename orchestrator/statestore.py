"""Stackrun-managed Terraform state behind the http backend protocol; every version kept."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.models import MAX_INTEGER, Run, StateLock, StateVersion
from orchestrator.runstate import RunState, is_terminal


@dataclass(frozen=True)
class StateRefusal:
    status: int
    reason: str
    body: dict[str, Any] | None = None


TEXT_MAX = 100
"""The longest lineage and lock ID the state tables hold (their String(100) columns)."""

_RUN_USER = re.compile(r"run-([1-9][0-9]{0,9})")


def run_id_of(username: str) -> int | None:
    """The run a Basic-auth user `run-<id>` names; None for any other user or an id that no
    row can have (ASCII digits only, within the database's integer range)."""
    found = _RUN_USER.fullmatch(username)
    number = int(found.group(1)) if found else None
    return number if number is not None and number <= MAX_INTEGER else None


def run_for_credential(session: Session, stack_id: str, username: str, password: str) -> Run | None:
    """The live run of this stack that owns the Basic-auth credential, if any."""
    run_id = run_id_of(username)
    if run_id is None:
        return None
    run = session.get(Run, run_id)
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
    if current_lock is not None:
        refused = holder_refusal(stack_id, current_lock, lock_id or "", run_id)
        if refused is not None:
            return StateRefusal(409, refused.reason)
    try:
        document = json.loads(content)
    except (ValueError, RecursionError) as exc:  # a number past Python's digit limit too
        return StateRefusal(400, f"state of {stack_id} is not JSON: {exc}")
    serial = document.get("serial", 0) if isinstance(document, dict) else None
    if not isinstance(serial, int) or isinstance(serial, bool) or not 0 <= serial <= MAX_INTEGER:
        return StateRefusal(
            400, f"state of {stack_id} must be an object with a serial from 0 to {MAX_INTEGER}"
        )
    lineage = document.get("lineage", "")
    if not isinstance(lineage, str) or len(lineage) > TEXT_MAX or "\x00" in lineage:
        return StateRefusal(
            400, f"state of {stack_id} must have a lineage of {TEXT_MAX} characters at most, no NUL"
        )
    version = StateVersion(
        stack_id=stack_id,
        serial=serial,
        lineage=lineage,
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        run_id=run_id,
    )
    session.add(version)
    session.flush()
    return version


def holder_of(held: StateLock) -> str:
    """All a refused caller learns about a lock: which run holds it."""
    return f"locked by run {held.run_id}" if held.run_id is not None else "locked"


def holder_refusal(
    stack_id: str, held: StateLock, lock_id: str, run_id: int | None
) -> StateRefusal | None:
    """The lock rule: only the holder, the same lock ID from the same run, may lock again,
    write under or release a held lock (an admin frees it through POST /stacks/{id}/unlock).
    The refusal is a lock info for Terraform's http backend, which prints its ID; it carries
    nothing of the holder's (its ID would let a guesser unlock, Who and Info name people)."""
    if held.lock_id == lock_id and held.run_id == run_id:
        return None
    holder = holder_of(held)
    return StateRefusal(423, f"state of {stack_id} is {holder}", {"ID": holder})


def lock(
    session: Session, stack_id: str, info: dict[str, Any], run_id: int | None = None
) -> StateLock | StateRefusal:
    lock_id = str(info.get("ID", ""))
    if not lock_id:
        return StateRefusal(400, "lock info has no ID")
    if len(lock_id) > TEXT_MAX or "\x00" in lock_id:
        return StateRefusal(400, f"lock info's ID must be {TEXT_MAX} characters at most, no NUL")
    existing = session.get(StateLock, stack_id)
    if existing is not None:
        return holder_refusal(stack_id, existing, lock_id, run_id) or existing
    row = StateLock(stack_id=stack_id, lock_id=lock_id, info=info, run_id=run_id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        held = session.get(StateLock, stack_id, populate_existing=True)
        if held is None:
            return StateRefusal(423, f"state of {stack_id} is locked", {"ID": "locked"})
        return holder_refusal(stack_id, held, lock_id, run_id) or held
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


def unlock(
    session: Session, stack_id: str, info: dict[str, Any], run_id: int | None
) -> StateRefusal | None:
    """Release the lock held by this lock ID and run; a lock nobody holds is already free."""
    existing = session.get(StateLock, stack_id)
    if existing is None:
        return None
    refused = holder_refusal(stack_id, existing, str(info.get("ID", "")), run_id)
    if refused is not None:
        return refused
    session.delete(existing)
    session.flush()
    return None
