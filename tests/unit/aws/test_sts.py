"""`assume()` against moto's standalone server: the worker's own credentials (boto3's default
chain) buy a run temporary credentials for the stack's role, and only those reach Terraform."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from orchestrator.aws.role import AwsRole
from orchestrator.aws.sts import AssumeRoleFailed, assume, session_name
from orchestrator.settings import Settings
from tests.support.moto_server import MotoServer, moto_server

ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/terraform-app"
GUARDED = f"arn:aws:iam::{ACCOUNT}:role/guarded-app"
EXTERNAL_ID = "acme-7f3a"
WORKER_USER = "stackrun-worker"


def _document(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="module")
def worker_keys(moto: MotoServer) -> dict[str, str]:
    """A worker user allowed sts:AssumeRole; terraform-app trusts it, guarded-app only with
    the external id. Made while moto still lets every request through."""
    iam = moto.client("iam")
    iam.create_user(UserName=WORKER_USER)
    iam.put_user_policy(
        UserName=WORKER_USER,
        PolicyName="assume",
        PolicyDocument=_document({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}),
    )
    key = iam.create_access_key(UserName=WORKER_USER)["AccessKey"]
    principal = {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{WORKER_USER}"}
    trust = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    iam.create_role(RoleName="terraform-app", AssumeRolePolicyDocument=_document(trust))
    iam.create_role(
        RoleName="guarded-app",
        AssumeRolePolicyDocument=_document(
            {**trust, "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}
        ),
    )
    return {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}


@pytest.fixture
def worker_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, worker_keys: dict[str, str]
) -> dict[str, str]:
    """The worker process's environment: its own keys and region, nothing else of AWS. boto3's
    default session keeps the credentials it first found, so each test starts a fresh one."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_STS", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", worker_keys["access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", worker_keys["secret_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    return worker_keys


@pytest.fixture
def enforced(moto: MotoServer, worker_keys: dict[str, str]) -> Iterator[None]:
    """Every request from now on is checked against moto's IAM (signature, policy, trust)."""
    httpx.post(f"{moto.url}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
    try:
        yield
    finally:
        httpx.post(f"{moto.url}/moto-api/reset-auth", content=b"inf", timeout=10)


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(data_dir=tmp_path, aws_endpoint_url=url)


def _assumed_roles(moto: MotoServer) -> list[dict[str, Any]]:
    data = httpx.get(f"{moto.url}/moto-api/data.json", timeout=10).json()
    return list(data["sts"]["AssumedRole"])


def _assumed(moto: MotoServer, access_key_id: str) -> dict[str, Any]:
    (found,) = [r for r in _assumed_roles(moto) if r["access_key_id"] == access_key_id]
    return found


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_role_gives_terraform_temporary_credentials_and_a_region(
    moto: MotoServer, worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = assume(AwsRole(ROLE), 42, "acme/platform/app", _settings(tmp_path, moto.url))
    assert set(env) == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    }
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert env["AWS_ACCESS_KEY_ID"] != worker_env["access_key"]
    assert env["AWS_SECRET_ACCESS_KEY"] != worker_env["secret_key"]
    assert env["AWS_SESSION_TOKEN"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    sts = moto.client(
        "sts",
        access_key=env["AWS_ACCESS_KEY_ID"],
        secret_key=env["AWS_SECRET_ACCESS_KEY"],
        session_token=env["AWS_SESSION_TOKEN"],
    )
    identity = sts.get_caller_identity()
    assert identity["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/terraform-app/stackrun-run-42-acme-platform-app"
    )


def test_the_session_is_named_after_the_run(
    moto: MotoServer, worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = assume(AwsRole(ROLE), 7, "acme/platform/network", _settings(tmp_path, moto.url))
    assumed = _assumed(moto, env["AWS_ACCESS_KEY_ID"])
    assert assumed["session_name"] == "stackrun-run-7-acme-platform-network"
    assert assumed["session_name"] == session_name(7, "acme/platform/network")
    assert assumed["role_arn"] == ROLE


def test_a_long_stack_id_still_makes_a_session_name_sts_takes(
    moto: MotoServer, worker_env: dict[str, str], tmp_path: Path
) -> None:
    stack = "acme/platform/" + "very-long-folder-name/" * 5 + "app"
    name = session_name(123456, stack)
    assert len(name) == 64
    assert name.startswith("stackrun-run-123456-acme-platform-very-long-folder-name-")
    env = assume(AwsRole(ROLE), 123456, stack, _settings(tmp_path, moto.url))
    assert _assumed(moto, env["AWS_ACCESS_KEY_ID"])["session_name"] == name


def test_characters_sts_refuses_in_a_session_name_are_replaced() -> None:
    assert (
        session_name(3, "acme/platform/app stack#1") == "stackrun-run-3-acme-platform-app-stack-1"
    )
    assert session_name(3, "a+b=c,d.e@f_g-h") == "stackrun-run-3-a+b=c,d.e@f_g-h"


def test_the_external_id_is_sent_when_set_and_only_then(
    moto: MotoServer, worker_env: dict[str, str], tmp_path: Path
) -> None:
    settings = _settings(tmp_path, moto.url)
    with_id = assume(AwsRole(ROLE, EXTERNAL_ID), 1, "acme/platform/app", settings)
    without = assume(AwsRole(ROLE), 2, "acme/platform/app", settings)
    assert _assumed(moto, with_id["AWS_ACCESS_KEY_ID"])["external_id"] == EXTERNAL_ID
    assert _assumed(moto, without["AWS_ACCESS_KEY_ID"])["external_id"] is None


def test_the_session_lasts_as_long_as_the_stack_asks(
    moto: MotoServer, worker_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchestrator.aws.sts")
    before = datetime.now(UTC).timestamp()
    assume(AwsRole(ROLE, None, 5400), 9, "acme/platform/app", _settings(tmp_path, moto.url))
    (line,) = [r.getMessage() for r in caplog.records if "run=9 assumed" in r.getMessage()]
    assert f"role={ROLE}" in line
    expires = datetime.fromisoformat(line.rsplit("expires=", 1)[1])
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    assert before + 5400 - 60 <= expires.timestamp() <= time.time() + 5400 + 60
    assert worker_env["secret_key"] not in caplog.text


def test_without_a_configured_region_the_credentials_are_for_us_east_1(
    moto: MotoServer, worker_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    env = assume(AwsRole(ROLE), 5, "acme/platform/app", _settings(tmp_path, moto.url))
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"


def test_with_iam_enforced_the_workers_own_keys_assume_the_trusted_role(
    moto: MotoServer, worker_env: dict[str, str], tmp_path: Path, enforced: None
) -> None:
    env = assume(AwsRole(ROLE), 11, "acme/platform/app", _settings(tmp_path, moto.url))
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assumed = assume(
        AwsRole(GUARDED, EXTERNAL_ID), 12, "acme/platform/app", _settings(tmp_path, moto.url)
    )
    assert _assumed(moto, assumed["AWS_ACCESS_KEY_ID"])["role_arn"] == GUARDED


def test_a_role_whose_trust_wants_another_external_id_refuses_the_run(
    moto: MotoServer, worker_env: dict[str, str], tmp_path: Path, enforced: None
) -> None:
    """(moto checks the external id only when one is sent, so a missing one cannot be shown.)"""
    with pytest.raises(AssumeRoleFailed) as failed:
        assume(AwsRole(GUARDED, "wrong-id"), 13, "acme/platform/app", _settings(tmp_path, moto.url))
    assert str(failed.value).startswith(f"assuming role {GUARDED} for run 13: AccessDenied: ")


def test_sts_refusing_the_workers_keys_fails_naming_the_role(
    moto: MotoServer,
    worker_env: dict[str, str],
    tmp_path: Path,
    enforced: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNWORKERKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret-moto-knows")
    with pytest.raises(AssumeRoleFailed) as failed:
        assume(AwsRole(ROLE), 15, "acme/platform/app", _settings(tmp_path, moto.url))
    message = str(failed.value)
    assert message.startswith(f"assuming role {ROLE} for run 15: InvalidClientTokenId")
    assert "not-a-secret-moto-knows" not in message
    assert failed.value.__cause__ is None


def test_sts_unreachable_fails_fast_naming_the_role(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(AssumeRoleFailed) as failed:
        assume(
            AwsRole(ROLE),
            16,
            "acme/platform/app",
            _settings(tmp_path, f"http://127.0.0.1:{_closed_port()}"),
        )
    elapsed = time.monotonic() - started
    message = str(failed.value)
    assert message.startswith(f"assuming role {ROLE} for run 16: ")
    assert "Could not connect to the endpoint URL" in message
    assert worker_env["secret_key"] not in message
    assert elapsed < 10, f"an unreachable STS took {elapsed:.1f}s to fail"
