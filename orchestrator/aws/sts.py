"""Temporary credentials for a run: STS AssumeRole with the worker's own credentials."""

from __future__ import annotations

import logging
import re
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.aws.role import AwsRole
from orchestrator.settings import Settings

log = logging.getLogger(__name__)
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")


class AssumeRoleFailed(Exception):
    """STS refused or could not be reached: the run fails before Terraform starts."""


def session_name(run_id: int, stack_id: str) -> str:
    """What CloudTrail shows for the run's calls: `stackrun-run-<id>-<stack>`, 64 chars max."""
    stack = _SESSION_NAME_UNSAFE.sub("-", stack_id)
    return f"stackrun-run-{run_id}-{stack}"[:64]


def assume(role: AwsRole, run_id: int, stack_id: str, settings: Settings) -> dict[str, str]:
    """The environment that gives Terraform the role's temporary credentials (and only them)."""
    client = boto3.client(
        "sts",
        region_name=boto3.session.Session().region_name or "us-east-1",
        endpoint_url=settings.aws_endpoint_url,
        config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3}),
    )
    request: dict[str, Any] = {
        "RoleArn": role.role_arn,
        "RoleSessionName": session_name(run_id, stack_id),
        "DurationSeconds": role.session_seconds,
    }
    if role.external_id:
        request["ExternalId"] = role.external_id
    try:
        answer = client.assume_role(**request)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AssumeRoleFailed(
            f"assuming role {role.role_arn} for run {run_id}: {error.get('Code', 'error')}: "
            f"{error.get('Message', '')}"
        ) from None
    except BotoCoreError as exc:
        raise AssumeRoleFailed(f"assuming role {role.role_arn} for run {run_id}: {exc}") from None
    credentials = answer["Credentials"]
    log.info(
        "run=%s assumed role=%s expires=%s",
        run_id,
        role.role_arn,
        credentials["Expiration"].isoformat(),
    )
    region = client.meta.region_name
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
