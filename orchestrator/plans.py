"""Reading a `terraform show -json` plan: summary counts and the resource changes. Pure."""

from __future__ import annotations

from typing import Any


def resource_changes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Each planned change as {address, type, actions}, no-ops and reads left out."""
    changes: list[dict[str, Any]] = []
    for change in plan.get("resource_changes") or []:
        actions = list((change.get("change") or {}).get("actions") or [])
        if actions in (["no-op"], ["read"], []):
            continue
        changes.append(
            {"address": change.get("address"), "type": change.get("type"), "actions": actions}
        )
    return changes


def summarize(plan: dict[str, Any]) -> dict[str, int]:
    """{add, change, destroy} as Terraform counts them: a replace adds one and destroys one."""
    summary = {"add": 0, "change": 0, "destroy": 0}
    for change in resource_changes(plan):
        actions = change["actions"]
        if "create" in actions:
            summary["add"] += 1
        if "delete" in actions:
            summary["destroy"] += 1
        if actions == ["update"]:
            summary["change"] += 1
    return summary


def has_changes(summary: dict[str, int]) -> bool:
    return any(summary.values())


def changed_outputs(plan: dict[str, Any]) -> list[str]:
    """Root outputs the plan changes: applying them matters to downstream stacks."""
    return sorted(
        name
        for name, change in (plan.get("output_changes") or {}).items()
        if list((change or {}).get("actions") or []) not in (["no-op"], [])
    )
