"""The parse cache shared by every worker: a table of facts by cache key, behind the
process's memory cache."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.facts import Facts
from orchestrator.models import ParseCacheEntry

_CHUNK = 500


class DatabaseCache:
    """The shared cache table, behind a per-process memory cache."""

    def __init__(self, session: Session, memory: MemoryCache) -> None:
        self.session = session
        self.memory = memory

    def get_many(self, keys: list[str]) -> dict[str, Facts]:
        found = self.memory.get_many(keys)
        missing = [k for k in keys if k not in found]
        loaded: dict[str, Facts] = {}
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            rows = self.session.execute(
                select(ParseCacheEntry.key, ParseCacheEntry.facts).where(
                    ParseCacheEntry.key.in_(chunk)
                )
            )
            loaded.update({str(row.key): dict(row.facts) for row in rows})
        self.memory.put_many(loaded)
        return found | loaded

    def put_many(self, entries: Mapping[str, Facts]) -> None:
        self.memory.put_many(entries)
        if not entries:
            return
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        rows = [{"key": key, "facts": facts} for key, facts in entries.items()]
        for start in range(0, len(rows), _CHUNK):
            statement = insert(ParseCacheEntry).values(rows[start : start + _CHUNK])
            self.session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
