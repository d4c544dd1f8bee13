"""A run's log: masked lines appended to its log artifact as they come, up to a limit."""

from __future__ import annotations

import threading
from typing import IO

from orchestrator.worker_api import ArtifactStore, Masker, log_key


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
