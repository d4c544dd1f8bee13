"""Server-Sent Events for live pages: a run's log from where the page left off, and a
pipeline's run states. Each event's data is one line of JSON; a log event's `id` is the byte
offset reached, so a reconnecting EventSource resumes (Last-Event-ID) without repeats."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from orchestrator.artifacts.store import log_key, open_store
from orchestrator.db import session_scope
from orchestrator.models import Run
from orchestrator.runstate import TERMINAL, RunState
from orchestrator.ui import ansi, detail

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
MAX_SECONDS = 3600.0
PAGE_LOG_BYTES = 2 * 1024 * 1024


def event(name: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n"


def read_log(run_id: int, offset: int) -> bytes:
    """The log's bytes from `offset` up to its last complete line."""
    try:
        raw = open_store().get(log_key(run_id))
    except KeyError:
        return b""
    end = raw.rfind(b"\n") + 1
    return raw[offset:end] if end > offset else b""


def tail_of(raw: bytes, limit: int = PAGE_LOG_BYTES) -> bytes:
    """What a page shows of a long log at first: its last `limit` bytes from a line start."""
    if len(raw) <= limit:
        return raw
    cut = raw[-limit:]
    return cut[cut.find(b"\n") + 1 :]


def run_state(run_id: int) -> str | None:
    with session_scope() as session:
        run = session.get(Run, run_id)
        return run.state if run is not None else None


async def log_events(run_id: int, offset: int) -> AsyncIterator[str]:
    """Log lines as they are written (rendered: escaped, colours as spans), `state` when the
    run's state changes, then `end` once the run has ended and everything written is sent."""
    waited = 0.0
    shown: str | None = None
    while waited < MAX_SECONDS:
        state = await asyncio.to_thread(run_state, run_id)
        if shown is not None and state != shown:
            yield event("state", {"state": state})
        shown = state
        chunk = await asyncio.to_thread(read_log, run_id, offset)
        if chunk:
            offset += len(chunk)
            html = str(ansi.to_html(chunk.decode("utf-8", errors="replace")))
            yield event("log", {"html": html}, offset)
        elif state is None or RunState(state) in TERMINAL:
            yield event("end", {"state": state})
            return
        await asyncio.sleep(POLL_SECONDS)
        waited += POLL_SECONDS


def _states(pipeline_id: int) -> dict[str, str]:
    with session_scope() as session:
        return detail.pipeline_states(session, pipeline_id)


async def pipeline_events(
    pipeline_id: int, states: Callable[[int], dict[str, str]] = _states
) -> AsyncIterator[str]:
    """The pipeline's run states whenever one changes; `end` once every run has ended."""
    shown: dict[str, str] = {}
    waited = 0.0
    while waited < MAX_SECONDS:
        now = await asyncio.to_thread(states, pipeline_id)
        if now != shown:
            shown = now
            yield event("states", now)
        if all(RunState(s) in TERMINAL for s in now.values()):
            yield event("end", {})
            return
        await asyncio.sleep(POLL_SECONDS)
        waited += POLL_SECONDS
