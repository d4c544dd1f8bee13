"""The API in-process (TestClient) on a SQLite file of the test's own, with tokens by role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from orchestrator import db as database
from orchestrator.api.app import create_app
from orchestrator.auth import create_token


@dataclass(frozen=True)
class Api:
    client: TestClient
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def api(own_database: None) -> Iterator[Api]:
    with database.session_scope() as session:
        tokens = {role: create_token(session, role, role) for role in ("viewer", "admin")}
    with TestClient(create_app()) as client:
        yield Api(client, tokens)
