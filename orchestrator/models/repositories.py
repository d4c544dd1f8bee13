"""Repositories and what their pushes bring: stacks, webhook deliveries, pipelines, the one
review comment of a pull request, the parse cache and graph snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.models.base import Base, utcnow


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    clone_url: Mapped[str] = mapped_column(String(1000))
    branch: Mapped[str] = mapped_column(String(255), default="main")
    provider: Mapped[str] = mapped_column(String(20))
    webhook_secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    vcs_api_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    vcs_project: Mapped[str | None] = mapped_column(String(300), nullable=True)
    vcs_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    proposed_secrets: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    plan_fork_prs: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    proposed_logs_public: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    trusted_authors: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Stack(Base):
    __tablename__ = "stacks"
    __table_args__ = (Index("ix_stacks_repository_id", "repository_id"),)

    id: Mapped[str] = mapped_column(String(500), primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    path: Mapped[str] = mapped_column(String(400))  # the folder; instances share it
    name: Mapped[str] = mapped_column(String(200))
    # an environment's instance of the folder (DESIGN §3): its name and the files Terraform
    # is given for it, as paths from the repository root
    environment: Mapped[str | None] = mapped_column(String(63), nullable=True)
    backend_files: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    var_files: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    autodeploy: Mapped[bool] = mapped_column(Boolean, default=False)
    managed_state: Mapped[bool] = mapped_column(Boolean, default=True)
    backend_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    worker_pool: Mapped[str] = mapped_column(String(100), default="default")
    depends_on: Mapped[list[Any]] = mapped_column(JSON, default=list)
    inputs: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    local_state_reads: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    trigger_always: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    locked_by_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state_recovery_artifact: Mapped[str | None] = mapped_column(String(300), nullable=True)
    state_recovery_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    drift_schedules: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    drift_reconcile: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    drift_override: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    drift_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_drift_check_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    handoff: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    aws: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Event(Base):
    """A webhook delivery, stored before any work is done."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("provider", "delivery_id", name="uq_events_delivery"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(50))
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    ref: Mapped[str] = mapped_column(String(255))
    before_sha: Mapped[str] = mapped_column(String(64))
    after_sha: Mapped[str] = mapped_column(String(64))
    pusher: Mapped[str] = mapped_column(String(200), default="")
    pr_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(30), default="", server_default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    detail: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # when a worker last took it for processing: the reaper's clock for a push left processing
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Pipeline(Base):
    __tablename__ = "pipelines"
    # lists newest first by repository or branch (DESIGN §11)
    __table_args__ = (
        Index("ix_pipelines_repository_id_id", "repository_id", "id"),
        Index("ix_pipelines_branch_id", "branch", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True)
    commit_sha: Mapped[str] = mapped_column(String(64))
    branch: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20), default="TRACKED", server_default="TRACKED")
    pr_number: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # standing conflicts of the stack graph at the commit (DESIGN §3), one message each
    graph_warnings: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    report_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    report_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    report_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    report_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    report_due_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    comment_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewComment(Base):
    """The one comment stackrun keeps on a pull/merge request. The row is inserted before the
    comment is created, so two deliveries never both create one."""

    __tablename__ = "review_comments"

    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"), primary_key=True)
    pr_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ParseCacheEntry(Base):
    """Graph facts of one file content, keyed by facts version, file kind and git blob id."""

    __tablename__ = "parse_cache"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GraphSnapshot(Base):
    """The stack graph computed by the last processed push of a repository's tracked branch:
    what GET /api/v1/repositories/{id}/graph serves (a viewer never makes stackrun parse)."""

    __tablename__ = "graph_snapshots"

    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"), primary_key=True)
    commit_sha: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    graph: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
