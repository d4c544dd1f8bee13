"""The API in-process (TestClient) on a SQLite file of the test's own, with tokens by role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orchestrator import db as database
from orchestrator.api.app import create_app
from orchestrator.auth import create_token
from orchestrator.models import Base
from orchestrator.settings import get_settings


@dataclass(frozen=True)
class Api:
    client: TestClient
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    for name in ("STACKRUN_DATABASE_URL", "STACKRUN_BROKER_URL", "STACKRUN_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    database.get_engine.cache_clear()
    database.get_sessionmaker.cache_clear()
    Base.metadata.create_all(database.get_engine())
    with database.session_scope() as session:
        tokens = {role: create_token(session, role, role) for role in ("viewer", "admin")}
    with TestClient(create_app()) as client:
        yield Api(client, tokens)
    database.get_engine().dispose()
    database.get_engine.cache_clear()
    database.get_sessionmaker.cache_clear()
    get_settings.cache_clear()
