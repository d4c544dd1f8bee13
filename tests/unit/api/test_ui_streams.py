"""The log stream: from the offset the page was rendered with, complete lines only, escaped
and coloured; `end` once the run has ended; a reconnect resumes without repeating."""

from __future__ import annotations

import asyncio
import json

from orchestrator import db as database
from orchestrator.artifacts.store import log_key, open_store
from orchestrator.models import Run
from orchestrator.runstate import RunState
from orchestrator.ui import live
from tests.unit.api.conftest import Api
from tests.unit.rows import add_stack

LOG = b"one\n\x1b[32m<two>\x1b[0m\npartial"


def _finished_run_with_log() -> int:
    with database.session_scope() as session:
        add_stack(session)
        run = Run(
            stack_id="acme/p/vpc",
            kind="TRACKED",
            state=RunState.FINISHED,
            commit_sha="a" * 40,
            branch="main",
            triggered_by="push",
        )
        session.add(run)
        session.flush()
        run_id = run.id
    open_store().put(log_key(run_id), LOG)
    return run_id


def _events(run_id: int, offset: int) -> list[tuple[str, str, dict[str, str]]]:
    async def collect() -> list[str]:
        return [chunk async for chunk in live.log_events(run_id, offset)]

    parsed = []
    for chunk in asyncio.run(collect()):
        fields = dict(line.split(": ", 1) for line in chunk.strip().splitlines())
        parsed.append((fields["event"], fields.get("id", ""), json.loads(fields["data"])))
    return parsed


def test_the_stream_sends_complete_lines_from_the_offset_then_ends(api: Api) -> None:
    run_id = _finished_run_with_log()
    events = _events(run_id, 4)
    assert events[0] == (
        "log",
        str(LOG.rindex(b"\n") + 1),
        {"html": '<span class="a-32">&lt;two&gt;</span>\n'},
    )
    assert events[1][0] == "end" and events[1][2] == {"state": "FINISHED"}


def test_a_reconnect_at_the_last_offset_repeats_nothing(api: Api) -> None:
    run_id = _finished_run_with_log()
    assert [e[0] for e in _events(run_id, LOG.rindex(b"\n") + 1)] == ["end"]
