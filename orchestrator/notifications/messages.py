"""Outgoing notifications: event names, bodies with a Slack-compatible `text`, signatures.
Pure; when a failed one is tried again is the outbox's (`orchestrator/outbox.py`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

EVENTS = (
    "run.needs_approval",
    "run.failed",
    "run.finished",
    "drift.detected",
    "handoff.finished",
    "handoff.failed",
    "boundary.violation",
)
SIGNATURE_HEADER = "X-Stackrun-Signature-256"


def run_event(state: str, kind: str) -> str | None:
    """The event a run's new state announces, if any (a drift check announces its drift)."""
    if kind == "DRIFT":
        return None
    return {
        "UNCONFIRMED": "run.needs_approval",
        "FAILED": "run.failed",
        "FINISHED": "run.finished",
    }.get(state)


def run_text(event: str, run: Mapping[str, Any]) -> str:
    stack, run_id = run["stack"], run["id"]
    sha = str(run.get("commit") or "")[:12]
    if event == "run.needs_approval":
        plan = run.get("plan_summary") or {}
        counts = f"+{plan.get('add', 0)} ~{plan.get('change', 0)} -{plan.get('destroy', 0)}"
        return f"stackrun: run {run_id} of {stack} at {sha} waits for approval ({counts})"
    if event == "run.failed":
        return f"stackrun: run {run_id} of {stack} at {sha} failed: {run.get('reason') or ''}"
    return f"stackrun: run {run_id} of {stack} at {sha} finished"


def drift_text(stack: str, resources: list[Mapping[str, Any]]) -> str:
    shown = ", ".join(f"{r['address']} ({'+'.join(r['actions'])})" for r in resources[:10])
    more = f" and {len(resources) - 10} more" if len(resources) > 10 else ""
    claimed = [
        f"{r['address']} drifted; also managed by Argo CD application `{c['app']}` ({c['object']})"
        for r in resources
        for c in r.get("managed_by") or []
    ]
    also = "".join(f". {line}" for line in claimed[:10])
    return f"stackrun: drift detected on {stack}: {shown}{more}{also}"


def body(event: str, delivery_id: int, at: str, text: str, detail: Mapping[str, Any]) -> bytes:
    """The JSON sent; its `text` field lets a Slack incoming webhook take it as it is."""
    document = {"text": text, "event": event, "delivery": delivery_id, "at": at, **detail}
    return json.dumps(document, sort_keys=True, default=str).encode()


def signature(secret: str, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
