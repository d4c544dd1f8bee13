"""On Redis, a tracked run's plan doorbell is served before a proposed run's rung earlier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.runs import queue
from orchestrator.runs.queue import PROPOSED_PRIORITY
from orchestrator.settings import get_settings
from tests.integration.conftest import flushed_redis

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STACKRUN_BROKER_URL", flushed_redis())
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    queue.sender.cache_clear()
    yield
    queue.sender.cache_clear()
    get_settings.cache_clear()


def test_a_tracked_plan_goes_before_proposals_queued_earlier(redis_broker: None) -> None:
    for proposed_run in (1, 2):
        assert queue.ring("plan_run", proposed_run, queue="prio", priority=PROPOSED_PRIORITY)
    assert queue.ring("plan_run", 3, queue="prio")
    with queue.sender().connection_for_read() as connection:
        waiting = connection.SimpleQueue("prio")
        served = []
        for _ in range(3):
            message = waiting.get(timeout=5)
            served.append(message.payload[0][0])
            message.ack()
        waiting.close()
    assert served == [3, 1, 2]
