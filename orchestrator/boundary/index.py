"""The ownership index: every identity of every resource in each stack's latest state.

A stack whose state stackrun manages is read from its latest state version; a stack with its
own backend from the stored plan JSON of its latest finished tracked run (`prior_state`, plus
`planned_values` for resources that plan created). Re-read when a tracked run finishes, and
before every check for any stack whose latest source is not the one indexed (a state pushed out
of band, a missed event)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from orchestrator.artifacts.store import open_store, plan_json_key
from orchestrator.boundary.findings import Owned
from orchestrator.boundary.identities import TerraformResource, resources_of_state
from orchestrator.models import (
    BoundaryResource,
    BoundarySource,
    Run,
    Stack,
    StateVersion,
    utcnow,
)
from orchestrator.runstate import RunKind, RunState

log = logging.getLogger(__name__)
Read = Callable[[str], bytes]
_CHUNK = 500


def latest_sources(session: Session) -> dict[str, str]:
    """{stack id: the source its index should be read from} for every live stack."""
    managed = session.execute(
        select(StateVersion.stack_id, func.max(StateVersion.id)).group_by(StateVersion.stack_id)
    )
    sources = {str(stack_id): f"state:{version}" for stack_id, version in managed}
    own = session.execute(
        select(Run.stack_id, func.max(Run.id))
        .join(Stack, Stack.id == Run.stack_id)
        .where(
            Stack.managed_state.is_(False),
            Run.kind == RunKind.TRACKED,
            Run.state == RunState.FINISHED,
        )
        .group_by(Run.stack_id)
    )
    sources.update({str(stack_id): f"plan:{run_id}" for stack_id, run_id in own})
    return sources


def refresh_stale(session: Session, read: Read) -> list[str]:
    """Re-index every stack whose latest source is not the indexed one; the stacks re-read."""
    indexed = dict(session.execute(select(BoundarySource.stack_id, BoundarySource.source)).all())
    stale = [
        (stack_id, source)
        for stack_id, source in sorted(latest_sources(session).items())
        if indexed.get(stack_id) != source
    ]
    for stack_id, source in stale:
        reindex(session, stack_id, source, read)
    return [stack_id for stack_id, _ in stale]


def reindex_stack(session: Session, stack_id: str, read: Read) -> None:
    """Re-read one stack now (a tracked run of it finished)."""
    source = latest_sources_of(session, stack_id)
    if source is not None:
        reindex(session, stack_id, source, read)


def latest_sources_of(session: Session, stack_id: str) -> str | None:
    stack = session.get(Stack, stack_id)
    if stack is None:
        return None
    if stack.managed_state:
        version = session.scalar(
            select(func.max(StateVersion.id)).where(StateVersion.stack_id == stack_id)
        )
        return None if version is None else f"state:{version}"
    run_id = session.scalar(
        select(func.max(Run.id)).where(
            Run.stack_id == stack_id,
            Run.kind == RunKind.TRACKED,
            Run.state == RunState.FINISHED,
        )
    )
    return None if run_id is None else f"plan:{run_id}"


def reindex(session: Session, stack_id: str, source: str, read: Read) -> None:
    """Replace the stack's rows with those of `source`; an unreadable source is logged and
    leaves an empty index for the stack (with the source, so it is not retried every check)."""
    try:
        resources = resources_of_state(_document(session, source, read))
    except (KeyError, ValueError, TypeError, RecursionError) as exc:
        log.warning("boundary index stack=%s source=%s unreadable: %s", stack_id, source, exc)
        resources = []
    session.execute(delete(BoundaryResource).where(BoundaryResource.stack_id == stack_id))
    session.add_all(_rows(stack_id, resources))
    row = session.get(BoundarySource, stack_id)
    if row is None:
        row = BoundarySource(stack_id=stack_id)
        session.add(row)
    row.source, row.resources, row.indexed_at = source, len(resources), utcnow()
    session.flush()
    log.info("boundary index stack=%s source=%s resources=%d", stack_id, source, len(resources))


def _rows(stack_id: str, resources: Iterable[TerraformResource]) -> list[BoundaryResource]:
    return [
        BoundaryResource(
            stack_id=stack_id, address=r.address[:1000], type=r.type[:200], key=i.key[:1100]
        )
        for r in resources
        for i in r.identities
    ]


def _document(session: Session, source: str, read: Read) -> Mapping[str, Any]:
    kind, _, number = source.partition(":")
    if kind == "state":
        version = session.get(StateVersion, int(number))
        if version is None:
            raise KeyError(source)
        document = json.loads(version.content)
        if not isinstance(document, dict):
            raise ValueError("the state is not a JSON object")
        return document
    return prior_state(json.loads(read(plan_json_key(int(number)))))


def prior_state(plan: Any) -> dict[str, Any]:
    """A plan's prior state as `show -json` values, with the resources only its planned values
    know (created by that plan) added."""
    if not isinstance(plan, dict):
        raise ValueError("the plan JSON is not an object")
    prior = plan.get("prior_state")
    values = prior.get("values") if isinstance(prior, dict) else None
    root = dict(values.get("root_module") or {}) if isinstance(values, dict) else {}
    planned = plan.get("planned_values")
    planned_root = planned.get("root_module") if isinstance(planned, dict) else None
    known = {r.get("address") for r in root.get("resources") or [] if isinstance(r, dict)}
    extra = [
        r
        for r in (planned_root or {}).get("resources") or []
        if isinstance(r, dict) and r.get("address") not in known
    ]
    root["resources"] = [*(root.get("resources") or []), *extra]
    return {"root_module": root}


def owners_of(session: Session, keys: Iterable[str]) -> dict[str, list[Owned]]:
    """{identity key: the stack resources holding it} for the keys asked about."""
    wanted = sorted(set(keys))
    found: dict[str, list[Owned]] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = session.execute(
            select(
                BoundaryResource.key,
                BoundaryResource.stack_id,
                BoundaryResource.address,
                BoundaryResource.type,
            )
            .join(Stack, Stack.id == BoundaryResource.stack_id)
            .where(
                BoundaryResource.key.in_(wanted[start : start + _CHUNK]), Stack.deleted.is_(False)
            )
            .order_by(BoundaryResource.id)
        )
        for key, stack_id, address, rtype in rows:
            found.setdefault(key, []).append(Owned(stack_id, address, rtype))
    return found


def on_run_finished(session: Session, stack_id: str) -> None:
    """Re-read a stack whose tracked run finished, in that run's transaction (a savepoint: an
    index that cannot be written never fails the run; the next check re-reads it)."""
    try:
        with session.begin_nested():
            reindex_stack(session, stack_id, open_store().get)
    except Exception:
        log.exception("boundary index stack=%s not refreshed; the next check re-reads it", stack_id)
