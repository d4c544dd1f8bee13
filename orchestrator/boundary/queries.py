"""Reading the boundary: findings by platform, stack or application; who owns an ARN or a
Kubernetes object; a pipeline's checks; what Argo CD claims of a stack's addresses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.boundary.findings import OPEN
from orchestrator.boundary.identities import K8S, arn_identities, k8s_identity, parse_arn
from orchestrator.boundary.views import check_view, finding_view, object_text
from orchestrator.models import BoundaryCheck, BoundaryFinding, BoundaryResource

_OBJECT = re.compile(r"\s*([A-Za-z][A-Za-z0-9]*)\s+(?:([^/\s]+)/)?([^/\s]+)\s*")
LIMIT = 500


def findings(
    session: Session,
    *,
    platform: str | None = None,
    stack: str | None = None,
    app: str | None = None,
    status: str | None = OPEN,
) -> list[dict[str, Any]]:
    query = select(BoundaryFinding).order_by(BoundaryFinding.id).limit(LIMIT)
    for column, value in (
        (BoundaryFinding.platform, platform),
        (BoundaryFinding.stack_id, stack),
        (BoundaryFinding.app, app),
        (BoundaryFinding.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    return [finding_view(row) for row in session.scalars(query)]


def checks(
    session: Session, *, platform: str | None = None, pipeline_id: int | None = None
) -> list[dict[str, Any]]:
    query = select(BoundaryCheck).order_by(BoundaryCheck.id.desc()).limit(20)
    if platform is not None:
        query = query.where(BoundaryCheck.platform == platform)
    if pipeline_id is not None:
        query = query.where(BoundaryCheck.pipeline_id == pipeline_id)
    return [check_view(row) for row in session.scalars(query)]


def pipeline_view(session: Session, pipeline_id: int, platforms: Sequence[str]) -> dict[str, Any]:
    """The checks a pipeline's hand-off started, and the open findings of its platforms."""
    found = [f for platform in platforms for f in findings(session, platform=platform)]
    return {"checks": checks(session, pipeline_id=pipeline_id), "findings": found}


@dataclass(frozen=True)
class Question:
    """A "who owns" question: the identity keys to look up, or why it cannot be asked."""

    keys: tuple[str, ...]
    error: str | None = None
    arn: dict[str, str] | None = None


def question(arn: str | None, obj: str | None) -> Question:
    """`arn=arn:aws:…` or `object=Kind namespace/name` (`Kind name` when cluster-scoped)."""
    if (arn is None) == (obj is None):
        return Question((), 'ask about exactly one of arn=… or object="Kind namespace/name"')
    if arn is not None:
        parsed = parse_arn(arn)
        if parsed is None:
            return Question(
                (), f"{arn[:200]!r} is not an ARN (arn:partition:service:region:account:resource)"
            )
        return Question(tuple(i.key for i in arn_identities(arn)), None, parsed.as_dict())
    found = _OBJECT.fullmatch(obj or "")
    if found is None:
        return Question((), f'{(obj or "")[:200]!r} is not "Kind namespace/name" or "Kind name"')
    kind, namespace, name = found.group(1), found.group(2) or "", found.group(3)
    return Question((k8s_identity(kind, namespace, name).key,))


def owners(session: Session, asked: Question) -> dict[str, Any]:
    """The stacks whose state holds the identity, and the applications found managing it."""
    rows = session.execute(
        select(
            BoundaryResource.stack_id,
            BoundaryResource.address,
            BoundaryResource.type,
            BoundaryResource.key,
        )
        .where(BoundaryResource.key.in_(asked.keys))
        .order_by(BoundaryResource.stack_id, BoundaryResource.address)
    )
    stacks: dict[tuple[str, str], dict[str, Any]] = {}
    for stack_id, address, rtype, key in rows:
        entry = stacks.setdefault(
            (stack_id, address),
            {"stack": stack_id, "address": address, "type": rtype, "matched": []},
        )
        entry["matched"].append(key)
    identities = [key for key in asked.keys if not key.startswith(f"{K8S}:")]
    apps = session.scalars(
        select(BoundaryFinding)
        .where(BoundaryFinding.status == OPEN)
        .where(BoundaryFinding.identity.in_(asked.keys) if identities else _object_is(asked))
        .order_by(BoundaryFinding.id)
    )
    return {
        "asked": list(asked.keys),
        "arn": asked.arn,
        "terraform": list(stacks.values()),
        "argocd": [finding_view(row) for row in apps],
    }


def _object_is(asked: Question) -> Any:
    kind, namespace, name = asked.keys[0].split(":", 1)[1].split("/", 2)
    return (
        (BoundaryFinding.kind == kind)
        & (BoundaryFinding.namespace == namespace)
        & (BoundaryFinding.name == name)
    )


def claims_for(session: Session, stack_id: str, addresses: Sequence[str]) -> dict[str, list[Any]]:
    """{address: [{app, object}]} of the open findings on those addresses of the stack."""
    if not addresses:
        return {}
    rows = session.scalars(
        select(BoundaryFinding)
        .where(
            BoundaryFinding.stack_id == stack_id,
            BoundaryFinding.status == OPEN,
            BoundaryFinding.address.in_(list(addresses)),
        )
        .order_by(BoundaryFinding.id)
    )
    found: dict[str, list[Any]] = {}
    for row in rows:
        found.setdefault(row.address, []).append({"app": row.app, "object": object_text(row)})
    return found
