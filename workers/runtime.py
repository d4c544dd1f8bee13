"""What a run's procedure holds while terraform works: its log, its lease (renewed, and
watched for the run ending under it), and the provider cache's init lock."""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import select

from orchestrator.artifacts.store import ArtifactStore, log_key
from orchestrator.db import session_scope
from orchestrator.models import Run
from orchestrator.runs import claims, service
from orchestrator.runstate import RunState, is_terminal
from orchestrator.secrets.masking import Masker
from orchestrator.settings import Settings

log = logging.getLogger(__name__)


class RunLog:
    """Appends masked lines to the run's log artifact as they come, up to `limit` characters:
    past it one line says so and the rest is dropped (terraform goes on; a run cannot fill the
    artifact store or the API's memory with its output)."""

    def __init__(
        self, store: ArtifactStore, run_id: int, masker: Masker, limit: int = 50 * 1024 * 1024
    ) -> None:
        self.masker = masker
        self._handle: IO[str] = store.open_append(log_key(run_id))
        self._lock = threading.Lock()
        self._left = limit
        self._limit = limit

    def __call__(self, line: str) -> None:
        with self._lock:
            if self._left <= 0:
                return
            text = self.masker(line) + "\n"
            self._left -= len(text)
            if self._left < 0:
                text = (
                    f"stackrun: the log reached {self._limit // (1024 * 1024)} MiB; later lines "
                    "are dropped (the run goes on)\n"
                )
            self._handle.write(text)
            self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def plugin_cache(settings: Settings) -> Path:
    return settings.data_dir / "plugin-cache"


@contextmanager
def plugin_cache_lock(settings: Settings) -> Iterator[None]:
    """terraform init writes the shared plugin cache; one init at a time keeps it sound."""
    cache = plugin_cache(settings)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


STOP_POLL_SECONDS = 1.0


class Lease:
    """While terraform works: renews the run's lease, and interrupts terraform (SIGINT) within
    a second of the run ending under it — a user stopping it, or the reaper failing it after
    this worker stalled past its lease (its credential and claim are void by then, so nothing
    it does afterwards counts; its terraform must not go on changing infrastructure)."""

    def __init__(self, run_id: int, seconds: int, on_ended: Callable[[RunState], None]) -> None:
        self.run_id, self.seconds = run_id, seconds
        self.on_ended = on_ended
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        """A failed renewal is retried at the next tick; the lease outlives two of them."""
        renewed = time.monotonic()
        interrupted = False
        while not self._stop.wait(STOP_POLL_SECONDS):
            try:
                with session_scope() as session:
                    state = session.scalar(select(Run.state).where(Run.id == self.run_id))
                    if time.monotonic() - renewed >= self.seconds / 3:
                        service.renew_lease(session, self.run_id, claims.WORKER, self.seconds)
                        renewed = time.monotonic()
            except Exception as exc:
                log.warning("run=%s renewing the lease failed, will retry: %s", self.run_id, exc)
                continue
            if state is not None and is_terminal(RunState(state)) and not interrupted:
                interrupted = True
                log.info("run=%s became %s: interrupting terraform", self.run_id, state)
                self.on_ended(RunState(state))
