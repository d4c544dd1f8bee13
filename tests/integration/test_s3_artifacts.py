"""A deployment whose artifacts live in S3 (moto's standalone server, SSE-KMS): a push plans,
the plan file, plan JSON and log parts land in the bucket, the logs endpoint reads them, and the
approved apply uses the stored plan and appends to the same log."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import Deployment, GitPlatform, start_services
from tests.support.moto_server import MotoServer, moto_server

pytestmark = pytest.mark.integration

SECRET = "s3-artifacts-webhook-secret"
PREFIX = "stackrun/runs"
STACK_FILES = {
    "app/stackrun.hcl": 'stack {\n  name = "app"\n}\n',
    "app/main.tf": (
        'resource "null_resource" "one" {}\noutput "id" {\n  value = null_resource.one.id\n}\n'
    ),
}


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


def test_a_runs_plan_plan_json_and_log_live_in_s3_encrypted_with_kms(
    tmp_path: Path,
    tf_cli_config: Path,
    postgres_url: str,
    redis_url: str,
    platform: GitPlatform,
    moto: MotoServer,
) -> None:
    bucket = f"stackrun-artifacts-{uuid.uuid4().hex[:8]}"
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": moto.region})
    key_id = moto.client("kms").create_key()["KeyMetadata"]["KeyId"]
    # No AWS_ENDPOINT_URL: S3 must be reached through STACKRUN_S3_ENDPOINT_URL.
    env = {k: v for k, v in moto.env().items() if k != "AWS_ENDPOINT_URL"}
    env.update(
        {
            "STACKRUN_ARTIFACTS_URL": f"s3://{bucket}/{PREFIX}",
            "STACKRUN_S3_ENDPOINT_URL": moto.url,
            "STACKRUN_ARTIFACTS_KMS_KEY_ID": key_id,
        }
    )
    deployment = start_services(
        tmp_path / "stackrun", tf_cli_config, postgres_url, redis_url, extra_env=env
    )
    try:
        _push_plan_approve_apply(deployment, platform, s3, bucket, key_id)
    finally:
        deployment.stop()
    assert not (tmp_path / "stackrun" / "artifacts").exists()


def _push_plan_approve_apply(
    deployment: Deployment, platform: GitPlatform, s3: Any, bucket: str, key_id: str
) -> None:
    deployment.register(platform, SECRET)
    before, after = platform.commit(STACK_FILES, "add app")
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
    runs = deployment.wait(
        lambda: [r for r in deployment.runs() if r["commit"]["sha"] == after] or None, "the run"
    )
    run_id = int(runs[0]["id"])
    planned = deployment.wait_run_state(run_id, {"UNCONFIRMED"})

    run_prefix = f"{PREFIX}/runs/{run_id}/"
    plan_file = _read(s3, bucket, run_prefix + "plan.tfplan")
    assert hashlib.sha256(plan_file).hexdigest() == planned["plan_sha256"]
    plan_json = json.loads(_read(s3, bucket, run_prefix + "plan.json"))
    assert plan_json["resource_changes"][0]["type"] == "null_resource"
    plan_log = _log(s3, bucket, run_prefix)
    assert "stackrun: planning acme/platform/app" in plan_log
    assert deployment.logs_of(run_id) == plan_log
    _assert_all_encrypted_with(s3, bucket, run_prefix, key_id)

    with deployment.client("approver") as api:
        approved = api.post(f"/api/v1/runs/{run_id}/approve", json={"comment": "lgtm"})
    assert approved.status_code == 200, approved.text
    deployment.wait_run_state(run_id, {"FINISHED"})
    log = deployment.logs_of(run_id)
    assert log.startswith(plan_log)
    assert f"stackrun: applying the approved plan of run {run_id}" in log
    assert "Apply complete!" in log
    assert _log(s3, bucket, run_prefix) == log
    _assert_all_encrypted_with(s3, bucket, run_prefix, key_id)


def _read(s3: Any, bucket: str, key: str) -> bytes:
    answer = s3.get_object(Bucket=bucket, Key=key)
    return bytes(answer["Body"].read())


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def _log(s3: Any, bucket: str, run_prefix: str) -> str:
    """The run's log as its writers left it: one part object per writer, in key order."""
    parts = _keys(s3, bucket, run_prefix + "log.txt.parts/")
    assert parts, f"no log parts under {run_prefix}"
    return b"".join(_read(s3, bucket, key) for key in parts).decode()


def _assert_all_encrypted_with(s3: Any, bucket: str, run_prefix: str, key_id: str) -> None:
    keys = _keys(s3, bucket, run_prefix)
    assert {run_prefix + "plan.tfplan", run_prefix + "plan.json"} <= set(keys)
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert key_id in head["SSEKMSKeyId"], key
