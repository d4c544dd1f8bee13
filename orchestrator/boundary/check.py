"""A check of a handed-off platform: read its Argo CD applications (outside any transaction),
then, in one transaction, bring the ownership index up to date, compute the findings and
record what changed: new ones are announced (`boundary.violation`), ones no longer seen are
closed, and the check itself is kept with its outcome. Argo CD unreachable: the check is
recorded as failed with the reason, and no finding changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.artifacts.store import open_store
from orchestrator.boundary import argocd_side, index, kinds, record
from orchestrator.boundary.argocd_side import Cluster, Limits, Observed
from orchestrator.db import session_scope
from orchestrator.handoff.argocd_api import ArgoCDClient, ArgoCDError
from orchestrator.handoff.credentials import token_for
from orchestrator.handoff.render import app_name
from orchestrator.handoff.spec import bridge_from_outputs
from orchestrator.models import Handoff, Stack
from orchestrator.runs import outputs
from orchestrator.settings import Settings

log = logging.getLogger(__name__)
SYNCED = "synced"


@dataclass(frozen=True)
class Target:
    platform: str
    server: str
    cluster: Cluster
    repository_id: int


def targets(session: Session, platform: str | None = None) -> list[Target]:
    """Every platform whose cluster was handed to an Argo CD server (its latest synced
    hand-off), or only `platform`."""
    query = select(Handoff).where(Handoff.status == SYNCED).order_by(Handoff.id.desc())
    if platform is not None:
        query = query.where(Handoff.stack_id == platform)
    found: dict[str, Target] = {}
    for row in session.scalars(query):
        if row.stack_id in found:
            continue
        target = _target(session, row)
        if target is not None:
            found[row.stack_id] = target
    return [found[key] for key in sorted(found)]


def _target(session: Session, row: Handoff) -> Target | None:
    server = (row.spec or {}).get("server")
    stored = outputs.stored(session, row.stack_id)
    bridge = bridge_from_outputs(stored[0])[0] if stored else None
    if not isinstance(server, str) or bridge is None:
        return None
    root = row.argocd_app or app_name(bridge)
    cluster = Cluster(bridge.cluster_name, bridge.server, root)
    repository_id = record.repository_of(session, row.stack_id)
    return Target(row.stack_id, server, cluster, repository_id or 0)


def after_handoff(handoff_id: int, settings: Settings) -> None:
    """A hand-off that synced its cluster is checked at once, on its pipeline."""
    with session_scope() as session:
        row = session.get(Handoff, handoff_id)
        if row is None or row.status != SYNCED:
            return
        platform, pipeline_id = row.stack_id, row.pipeline_id
    check_platform(platform, settings, "handoff", pipeline_id)


def check_all(settings: Settings) -> int:
    """Beat's round: every handed-off platform once; the number checked."""
    with session_scope() as session:
        platforms = [target.platform for target in targets(session)]
    for platform in platforms:
        check_platform(platform, settings, "schedule", None)
    return len(platforms)


def check_platform(
    platform: str, settings: Settings, trigger: str, pipeline_id: int | None
) -> str | None:
    """One check; its status (`ok`, `partial`, `failed`), None when `platform` was never
    handed to an Argo CD server."""
    with session_scope() as session:
        found = targets(session, platform)
    if not found:
        return None
    target = found[0]
    observed = _observe(target, settings)
    with session_scope() as session:
        # one check of a platform records at a time (a hand-off's and beat's may overlap)
        session.execute(select(Stack.id).where(Stack.id == platform).with_for_update())
        index.refresh_stale(session, open_store(settings).get)
        if isinstance(observed, str):
            record.failed(session, target.platform, trigger, pipeline_id, observed)
            return "failed"
        return record.findings(session, target, observed, trigger, pipeline_id)


def _observe(target: Target, settings: Settings) -> Observed | str:
    """What Argo CD's applications manage, or why it could not be read."""
    where = f"reading Argo CD at {target.server} for platform {target.platform}"
    secret = settings.argocd_token.get_secret_value() if settings.argocd_token else None
    try:
        token = token_for(target.server, secret, settings.argocd_servers)
    except ArgoCDError as exc:
        return f"{where}: {exc}"
    extra, problems = kinds.parse_rules(settings.boundary_kinds)
    for problem in problems:
        log.warning("boundary kinds: %s", problem)
    limits = Limits(
        settings.boundary_max_apps, settings.boundary_max_tree_nodes, settings.boundary_max_fetches
    )
    try:
        with ArgoCDClient(target.server, token, attempts=2) as client:
            return argocd_side.read(client, target.cluster, kinds.ordered(extra), limits)
    except (ArgoCDError, ValueError) as exc:
        return f"{where}: {exc}; findings left as they were"
