"""What a run's procedure holds while terraform works: its lease (renewed, and watched for the
run ending under it), and the provider cache's init lock."""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrator import worker_api
from orchestrator.settings import Settings
from orchestrator.worker_api import RunState

log = logging.getLogger(__name__)


def plugin_cache(settings: Settings, trusted: bool = True) -> Path:
    """The provider cache a run's `terraform init` fills. An untrusted run has one of its own:
    its branch can make init install any package under any provider's name (an implied
    `terraform.d/plugins` mirror in its tree), and a trusted run, which holds secrets and the
    stack's AWS role, must never find and execute that package."""
    return settings.data_dir / ("plugin-cache" if trusted else "plugin-cache-untrusted")


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
            due = time.monotonic() - renewed >= self.seconds / 3
            try:
                ended = worker_api.heartbeat(self.run_id, self.seconds if due else None)
            except Exception as exc:
                log.warning("run=%s renewing the lease failed, will retry: %s", self.run_id, exc)
                continue
            if due:
                renewed = time.monotonic()
            if ended is not None and not interrupted:
                interrupted = True
                log.info("run=%s became %s: interrupting terraform", self.run_id, ended)
                self.on_ended(ended)
