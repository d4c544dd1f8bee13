"""The HTTP side of the JSON API stand-ins: every request goes, raw, to one `handle` function
whose reply is written back as JSON (a reply without a status drops the connection)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol


class JsonReply(Protocol):
    @property
    def status(self) -> int | None: ...

    @property
    def body(self) -> Any: ...


Handle = Callable[[str, str, dict[str, str], bytes], JsonReply]


def json_handler(
    handle: Handle, content_type: str = "application/json"
) -> type[BaseHTTPRequestHandler]:
    """A quiet request handler class (the stand-in keeps its own record of requests)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = handle(self.command, self.path, headers, raw)
            if reply.status is None:
                self.close_connection = True
                return
            payload = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            extra: Mapping[str, str] = getattr(reply, "headers", None) or {}
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
