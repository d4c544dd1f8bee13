"""Security events: one WARNING line for each refused request (a webhook nobody's secret
verifies, a missing or unknown token, a forbidden action, a bad run credential), saying what,
why and from where. Never with a secret: callers pass names and reasons, not credentials."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar

from orchestrator.auth import SOURCE_IP

log = logging.getLogger(__name__)

# "POST /api/v1/runs/7/approve": the API request being served (its path, never its query).
REQUEST: ContextVar[str | None] = ContextVar("stackrun_request", default=None)
MAX_VALUE = 200

UNSIGNED_WEBHOOK = "unsigned_webhook"
BAD_WEBHOOK_SIGNATURE = "bad_webhook_signature"
MISSING_TOKEN = "missing_token"  # noqa: S105 (an event name)
UNKNOWN_TOKEN = "unknown_token"  # noqa: S105 (an event name)
FORBIDDEN = "forbidden"
BAD_RUN_CREDENTIAL = "bad_run_credential"


def refused(event: str, reason: str, **facts: str | int | None) -> None:
    """`security event=forbidden source_ip="10.0.0.7" request="POST /api/v1/runs/7/approve"
    token="ci" reason="..."`; values are quoted and cut, so a caller's text cannot forge a
    line. The same fields go to handlers as `record.security`."""
    fields: dict[str, str | int | None] = {
        "event": event,
        "source_ip": SOURCE_IP.get(),
        "request": REQUEST.get(),
        **facts,
        "reason": reason,
    }
    line = " ".join(f"{key}={_shown(value)}" for key, value in fields.items() if key != "event")
    log.warning("security event=%s %s", event, line, extra={"security": fields})


def _shown(value: str | int | None) -> str:
    if value is None or isinstance(value, int):
        return json.dumps(value)
    text = value if len(value) <= MAX_VALUE else value[:MAX_VALUE] + "…"
    return json.dumps(text, ensure_ascii=True)
