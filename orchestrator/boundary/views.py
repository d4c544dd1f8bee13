"""How findings and checks are shown (API, pipeline, notifications, policies)."""

from __future__ import annotations

from typing import Any

from orchestrator.models import BoundaryCheck, BoundaryFinding

_PRODUCTS = (
    (".services.k8s.aws", "ACK"),
    (".aws.upbound.io", "Crossplane"),
    (".aws.m.upbound.io", "Crossplane"),
    (".aws.crossplane.io", "Crossplane"),
)


def product(group: str) -> str:
    """`ACK`, `Crossplane`, or the API group (`apps`) for any other kind."""
    for suffix, name in _PRODUCTS:
        if group.endswith(suffix):
            return name
    return group or "core"


def object_text(row: BoundaryFinding) -> str:
    where = f"{row.namespace}/{row.name}" if row.namespace else row.name
    return f"{product(row.group)} {row.kind} {where}"


def finding_view(row: BoundaryFinding) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "platform": row.platform,
        "direction": row.direction,
        "app": row.app,
        "object": {
            "group": row.group,
            "kind": row.kind,
            "namespace": row.namespace,
            "name": row.name,
            "text": object_text(row),
        },
        "stack": row.stack_id,
        "address": row.address,
        "identity": row.identity,
        "status": row.status,
        "first_seen": row.first_seen.isoformat(),
        "last_seen": row.last_seen.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "close_reason": row.close_reason or None,
    }


def check_view(row: BoundaryCheck) -> dict[str, Any]:
    return {
        "id": row.id,
        "platform": row.platform,
        "pipeline_id": row.pipeline_id,
        "trigger": row.trigger,
        "status": row.status,
        "message": row.message,
        "apps": row.apps,
        "objects": row.objects,
        "open_findings": row.open_findings,
        "at": row.created_at.isoformat(),
    }
