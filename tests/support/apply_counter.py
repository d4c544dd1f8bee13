"""A count of applies kept outside stackrun: a sandboxed `local-exec` cannot write outside its
workspace, but it shares the network, so it marks the count over loopback HTTP. Any request
also answers, so the same stand-in can hold a port that `/healthz` would answer 200 on."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.support.json_http import json_handler


@dataclass(frozen=True)
class _Reply:
    status: int | None
    body: Any


class ApplyCounter:
    """An HTTP server on 127.0.0.1 in a thread, counting POST /<name>; use it with `with`."""

    def __init__(self) -> None:
        self._marks: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), json_handler(self._handle))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def mark(self, name: str) -> str:
        """A shell command (for a local-exec, inside an HCL string) that counts one `name` and
        fails when the count was not taken; python3 is there wherever stackrun runs."""
        url = f"http://127.0.0.1:{self.port}/{name}"
        code = f'import urllib.request as u; u.urlopen(u.Request(\\"{url}\\", method=\\"POST\\"))'
        return f"python3 -c '{code}'"

    def count(self, name: str) -> int:
        with self._lock:
            return self._marks[name]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._marks)

    def _handle(self, method: str, path: str, _headers: dict[str, str], _raw: bytes) -> _Reply:
        if method == "POST":
            with self._lock:
                self._marks[path.strip("/")] += 1
        return _Reply(200, {"status": "ok"})

    def __enter__(self) -> ApplyCounter:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
