"""What every table shares: the declarative base, the clock, the integer bound."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase

# Ids and counters are INTEGER columns: 32-bit signed in PostgreSQL (SQLite's hold 64 bits). A
# number from outside (a path, a query, a webhook payload) beyond this is refused before any
# query, never handed to the database driver.
MAX_INTEGER = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}
