"""Artifact store for plan files, plan JSON and logs: a local directory (embedded default)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from orchestrator.settings import Settings, get_settings


class LocalStore:
    """Keys are relative paths under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"artifact key {key!r} escapes the store")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def open_append(self, key: str) -> IO[str]:
        """A text handle appending to the artifact (run logs stream through it)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a", encoding="utf-8")

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise KeyError(key) from exc


def open_store(settings: Settings | None = None) -> LocalStore:
    url = (settings or get_settings()).resolved_artifacts_url
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStore(Path(parsed.path))
    raise ValueError(f"artifact store URL {url!r}: only file:// is supported so far")


def plan_key(run_id: int) -> str:
    return f"runs/{run_id}/plan.tfplan"


def plan_json_key(run_id: int) -> str:
    return f"runs/{run_id}/plan.json"


def log_key(run_id: int) -> str:
    return f"runs/{run_id}/log.txt"
