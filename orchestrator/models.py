"""Every table of stackrun."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Ids and counters are INTEGER columns: 32-bit signed in PostgreSQL (SQLite's hold 64 bits). A
# number from outside (a path, a query, a webhook payload) beyond this is refused before any
# query, never handed to the database driver.
MAX_INTEGER = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


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

    id: Mapped[str] = mapped_column(String(500), primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    path: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(200))
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
    last_drift_slot: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
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
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Pipeline(Base):
    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True)
    commit_sha: Mapped[str] = mapped_column(String(64))
    branch: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20), default="TRACKED", server_default="TRACKED")
    pr_number: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
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


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"), index=True)
    pipeline_id: Mapped[int | None] = mapped_column(ForeignKey("pipelines.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), index=True)
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


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    vcs_login: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


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


class Policy(Base):
    """A Rego policy; `version` is the current one, every version is kept in policy_versions."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    attach_labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    builtin: Mapped[str | None] = mapped_column(String(100), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PolicyVersion(Base):
    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("policy_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    attach_labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PolicyEvaluation(Base):
    """One policy's result for one run at one decision point."""

    __tablename__ = "policy_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    policy: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    result: Mapped[str] = mapped_column(String(20))
    messages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    seconds: Mapped[float] = mapped_column(default=0.0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RunReview(Base):
    """An approval or a rejection of a run by a token holder."""

    __tablename__ = "run_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DriftCheck(Base):
    """One drift check of a stack: at most one per (stack, schedule slot)."""

    __tablename__ = "drift_checks"
    __table_args__ = (UniqueConstraint("stack_id", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"), index=True)
    slot: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    resources: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    reconcile_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class NotificationTarget(Base):
    """An outgoing webhook: for one repository's events, or every event when global."""

    __tablename__ = "notification_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int | None] = mapped_column(ForeignKey("repositories.id"), nullable=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    failed_deliveries: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NotificationDelivery(Base):
    """One event for one target (an outbox row): sent, retried with backoff, or given up."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("notification_targets.id"), index=True)
    event: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Handoff(Base):
    """One attempt to hand a pipeline's cluster over to Argo CD."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    gitops_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    argocd_app: Mapped[str | None] = mapped_column(String(300), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    triggered_by: Mapped[str] = mapped_column(String(200), default="stackrun")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Context(Base):
    """A named bundle of variables attached to every stack that carries one of its labels."""

    __tablename__ = "contexts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    attach_labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Variable(Base):
    """One variable of a stack, a context or a repository (its default); the value is always
    envelope-encrypted, bound to (scope, owner, kind, name)."""

    __tablename__ = "variables"
    __table_args__ = (UniqueConstraint("scope", "owner", "kind", "name", name="uq_variables_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(500), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    checksum: Mapped[str] = mapped_column(String(64))
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
