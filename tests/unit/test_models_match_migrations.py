"""The Alembic migrations build exactly the schema the models declare: `migrate` on a fresh
database leaves nothing for autogenerate to add, drop or alter."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from orchestrator import models
from orchestrator.migrate import upgrade
from orchestrator.settings import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STACKRUN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_importing_the_package_registers_every_table_alembic_compares() -> None:
    """What Alembic's env.py sees (`import orchestrator.models` in a fresh interpreter) holds
    the table of every model defined in any module of the package."""
    declared: set[str] = set()
    for module in pkgutil.iter_modules(models.__path__, "orchestrator.models."):
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, type) and issubclass(value, models.Base):
                declared.add(getattr(value, "__tablename__", ""))
    declared.discard("")
    probe = "import orchestrator.models as m; print(' '.join(sorted(m.Base.metadata.tables)))"
    seen = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.split()
    assert set(seen) == declared
    assert "runs" in declared


def test_the_migrated_schema_is_the_schema_of_the_models(data_dir: Path) -> None:
    url = f"sqlite:///{data_dir / 'schema.sqlite'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), models.Base.metadata)
    engine.dispose()
    assert differences == []
