"""Receivers for what stackrun sends out, and the GitOps repository a hand-off writes to."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import git


class Receiver:
    """A notification receiver on 127.0.0.1 answering `status`; it keeps what it was sent."""

    def __init__(self, status: int = 204) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received, answer = self.received, status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(answer)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, event: str, secret: str) -> list[dict[str, Any]]:
        """The bodies of `event` received so far, each checked to be signed with `secret`."""
        found = []
        for headers, body in list(self.received):
            document = json.loads(body)
            if document["event"] == event:
                signed = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                assert headers["x-stackrun-signature-256"] == f"sha256={signed}"
                found.append(document)
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def seed_gitops(bare: Path, work: Path) -> None:
    """A GitOps repository that already has a commit by someone else."""
    git.Repo.init(bare, bare=True, initial_branch="main")
    repo = git.Repo.init(work, initial_branch="main")
    (work / "README.md").write_text("# gitops\n")
    repo.git.add(A=True)
    repo.git.commit("-m", "initial", "--author", "Ops <ops@example.com>")
    repo.git.push(str(bare), "main")
