"""Settings from STACKRUN_* environment variables, with embedded defaults for one machine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything runs from `data_dir` unless a production URL is given."""

    model_config = SettingsConfigDict(env_prefix="STACKRUN_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".stackrun")
    database_url: str | None = None
    broker_url: str | None = None
    artifacts_url: str | None = None
    s3_endpoint_url: str | None = None
    artifacts_kms_key_id: str | None = None
    kms_key_id: str | None = None
    aws_endpoint_url: str | None = None
    terraform_bin: str = "terraform"
    sandbox: Literal["auto", "bwrap", "none"] = "auto"
    sandbox_user: str = "stackrun-sandbox"
    api_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr | None = None
    broker_polling_interval: float = 0.02
    lease_seconds: int = 300
    reap_seconds: float = 30.0
    log_level: str = "info"
    worker_concurrency: int = 2
    max_webhook_bytes: int = 25 * 1024 * 1024
    policy_timeout_seconds: float = 10.0
    drift_tick_seconds: float = 60.0
    drift_spread_seconds: float = 45.0
    notify_seconds: float = 5.0
    notify_backoff_seconds: float = 10.0
    notify_max_attempts: int = 5
    report_seconds: float = 3.0
    report_backoff_seconds: float = 10.0
    report_max_attempts: int = 8
    argocd_token: SecretStr | None = None
    # the Argo CD servers the token may be sent to, comma separated (empty: any server a
    # tracked branch's hand-off block names)
    argocd_servers: str = ""
    handoff_poll_seconds: float = 2.0
    # The ownership boundary (issue 22): how often beat checks every handed-off platform
    # (0: only after hand-offs), extra kinds (JSON, boundary/kinds.py) and what one check reads
    boundary_check_seconds: float = 300.0
    boundary_kinds: str | None = None
    boundary_max_apps: int = Field(default=500, ge=1)
    boundary_max_tree_nodes: int = Field(default=5000, ge=1)
    boundary_max_fetches: int = Field(default=200, ge=0)
    allow_local_repositories: bool = False
    # What one graph build reads (DESIGN §3, "Limits"); the largest real repositories we know
    # (govuk-aws: 306 files, 1.4 MiB, the biggest 95 KiB) fit many times over.
    graph_max_file_bytes: int = Field(default=4 * 1024 * 1024, ge=1)
    graph_max_total_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    graph_time_budget_seconds: float = Field(default=120.0, gt=0)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'stackrun.db'}"

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def resolved_artifacts_url(self) -> str:
        return self.artifacts_url or f"file://{self.data_dir / 'artifacts'}"

    @property
    def uses_filesystem_broker(self) -> bool:
        return self.resolved_broker_url.startswith("filesystem://")

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def mirrors_dir(self) -> Path:
        return self.data_dir / "mirrors"

    @property
    def workspaces_dir(self) -> Path:
        return self.data_dir / "workspaces"

    @property
    def gitops_dir(self) -> Path:
        return self.data_dir / "gitops"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
