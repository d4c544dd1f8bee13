"""Runs, their history, and the outputs of a stack's last apply."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.models.base import Base, utcnow


class Run(Base):
    __tablename__ = "runs"
    # lists newest first by stack, state or pipeline (DESIGN §11)
    __table_args__ = (
        Index("ix_runs_stack_id_id", "stack_id", "id"),
        Index("ix_runs_state_id", "state", "id"),
        Index("ix_runs_pipeline_id_id", "pipeline_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"))
    pipeline_id: Mapped[int | None] = mapped_column(ForeignKey("pipelines.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str | None] = mapped_column(String(700), unique=True, nullable=True)
    commit_sha: Mapped[str] = mapped_column(String(64))
    commit_message: Mapped[str] = mapped_column(Text, default="")
    commit_author: Mapped[str] = mapped_column(String(200), default="")
    branch: Mapped[str] = mapped_column(String(255))
    pr_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reported_status: Mapped[str | None] = mapped_column(String(300), nullable=True)
    triggered_by: Mapped[str] = mapped_column(String(200))
    upstream_run_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    trigger_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    plan_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    resource_changes: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    plan_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    state_credential_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state_credential_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    plan_attempts: Mapped[int] = mapped_column(Integer, default=0)
    inputs_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RunTransition(Base):
    """One row per state change of a run: the run's history."""

    __tablename__ = "run_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StackOutputs(Base):
    """The outputs of a stack's last apply; sensitive values only encrypted, never served."""

    __tablename__ = "stack_outputs"

    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    commit_sha: Mapped[str] = mapped_column(String(64))
    plain: Mapped[dict[str, Any]] = mapped_column(JSON)
    sensitive_names: Mapped[list[Any]] = mapped_column(JSON)
    sensitive_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
