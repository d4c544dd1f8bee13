"""Shared unit fixtures: an in-memory SQLite database with the whole schema; stackrun's own
engine on a SQLite file of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from orchestrator import db as database
from orchestrator.models import Base
from orchestrator.settings import get_settings


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """stackrun's settings and engine on a SQLite file in `tmp_path` with the whole schema,
    for code that opens its own sessions (`db.session_scope`); no broker or artifact URL."""
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    for name in ("STACKRUN_DATABASE_URL", "STACKRUN_BROKER_URL", "STACKRUN_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)
    _forget_engine()
    Base.metadata.create_all(database.get_engine())
    yield
    database.get_engine().dispose()
    _forget_engine()


def _forget_engine() -> None:
    get_settings.cache_clear()
    database.get_engine.cache_clear()
    database.get_sessionmaker.cache_clear()
