"""The ownership boundary (issue 22): what stacks' states own, what Argo CD's applications were
found managing of it, and each check of a handed-off platform."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.models.base import Base, utcnow


class BoundaryResource(Base):
    """One identity of one resource in a stack's latest state (the ownership index)."""

    __tablename__ = "boundary_resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"), index=True)
    address: Mapped[str] = mapped_column(String(1000))
    type: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(1100), index=True)


class BoundarySource(Base):
    """Which state a stack's index rows were read from (`state:<version>` or `plan:<run>`)."""

    __tablename__ = "boundary_sources"

    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    resources: Mapped[int] = mapped_column(Integer, default=0)
    indexed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BoundaryFinding(Base):
    """An application and a stack claiming the same resource; `key` dedupes across checks."""

    __tablename__ = "boundary_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(500), index=True)
    direction: Mapped[str] = mapped_column(String(20))
    app: Mapped[str] = mapped_column(String(300), index=True)
    group: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(300))
    namespace: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(300))
    stack_id: Mapped[str] = mapped_column(String(500), index=True)
    address: Mapped[str] = mapped_column(String(1000))
    identity: Mapped[str] = mapped_column(String(1100))
    status: Mapped[str] = mapped_column(String(20), default="open")
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    close_reason: Mapped[str] = mapped_column(Text, default="")


class BoundaryCheck(Base):
    """One read of a platform's Argo CD: after a hand-off (with its pipeline) or on schedule."""

    __tablename__ = "boundary_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(500), index=True)
    pipeline_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    apps: Mapped[int] = mapped_column(Integer, default=0)
    objects: Mapped[int] = mapped_column(Integer, default=0)
    open_findings: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
