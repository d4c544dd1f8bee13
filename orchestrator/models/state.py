"""Managed Terraform state: every version, and Terraform's http-backend lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.models.base import Base, utcnow


class StateVersion(Base):
    """Every version of a stackrun-managed Terraform state is kept."""

    __tablename__ = "state_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"), index=True)
    serial: Mapped[int] = mapped_column(Integer)
    lineage: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StateLock(Base):
    """Terraform's http-backend lock of a managed state."""

    __tablename__ = "state_locks"

    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"), primary_key=True)
    lock_id: Mapped[str] = mapped_column(String(100))
    info: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    locked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
