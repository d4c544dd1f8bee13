"""`stackrun up` says it is up only once the API's /healthz has answered 200: a real child
process under the supervisor, and a health endpoint that answers 503 before it answers 200."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orchestrator.supervise.restarts import RestartPolicy
from orchestrator.supervise.supervisor import ChildSpec, run

NOT_READY_ANSWERS = 3


class Health:
    """/healthz: 503 for its first answers, 200 afterwards; it counts what it answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answered: list[int] = []

    def next_status(self) -> int:
        with self.lock:
            status = 503 if len(self.answered) < NOT_READY_ANSWERS else 200
            self.answered.append(status)
            return status

    def ok_answers(self) -> int:
        with self.lock:
            return self.answered.count(200)


@pytest.fixture
def health() -> Iterator[tuple[Health, str]]:
    state = Health()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(state.next_status())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/healthz"
    server.shutdown()
    server.server_close()


def test_up_is_announced_once_and_only_after_healthz_answered_200(
    health: tuple[Health, str],
) -> None:
    state, url = health
    announced: list[int] = []

    def on_up() -> None:
        announced.append(state.ok_answers())
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does: supervise no longer

    child = ChildSpec("api", (sys.executable, "-c", "import time; time.sleep(60)"))
    reason = run([child], dict(os.environ), url, on_up, RestartPolicy(), startup_seconds=60)
    assert reason is None
    assert announced == [1], "announced once, after the first 200"
    assert state.answered[:NOT_READY_ANSWERS] == [503] * NOT_READY_ANSWERS


def test_up_is_never_announced_when_healthz_never_answers() -> None:
    announced: list[str] = []
    child = ChildSpec("api", (sys.executable, "-c", "import time; time.sleep(60)"))
    nothing = "http://127.0.0.1:9/healthz"  # the discard port: nothing listens there
    reason = run(
        [child], dict(os.environ), nothing, lambda: announced.append("up"), RestartPolicy(), 2
    )
    assert announced == []
    assert reason is not None and "did not answer" in reason
