"""A counter that sandboxed Terraform can hit over loopback HTTP: the way a test counts applies
from outside stackrun (a run sees only its own workspace, so it cannot append to a test's file).

    with hit_counter() as counter:
        command = counter.command("applied")   # for a local-exec
        ...
        assert counter.count("applied") == 1
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HitCounter:
    def __init__(self, port: int) -> None:
        self.port = port
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, name: str) -> int:
        with self._lock:
            return self.hits[name]

    def hit(self, name: str) -> None:
        with self._lock:
            self.hits[name] += 1

    def command(self, name: str) -> str:
        """A shell command (for a local-exec) that counts one `name` hit."""
        url = f"http://127.0.0.1:{self.port}/{name}"
        return f"python3 -c 'import urllib.request; urllib.request.urlopen(\\\"{url}\\\")'"


@contextmanager
def hit_counter() -> Iterator[HitCounter]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    counter = HitCounter(int(server.server_address[1]))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            counter.hit(self.path.strip("/"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        server.shutdown()
        server.server_close()
