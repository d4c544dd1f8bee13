"""STS AssumeRole credentials reaching a real Terraform run: an S3 backend in moto, with IAM
enforced, that only the stack's role may use. The worker holds the keys of a user that may
do nothing but assume that role; Terraform gets the role's temporary credentials and nothing
else; a role the worker may not assume fails the run before Terraform starts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions
import httpx
import pytest

from orchestrator.aws.sts import session_name
from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform, start_services
from tests.support.moto_server import MotoServer, moto_server

pytestmark = pytest.mark.integration

SECRET = "aws-role-secret"
ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/terraform-app"
FORBIDDEN = f"arn:aws:iam::{ACCOUNT}:role/other-team"
WORKER_USER = "stackrun-worker"
BUCKET = "acme-terraform-state"
TERRAFORM_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
TERRAFORM_ENV |= {"AWS_REGION", "AWS_DEFAULT_REGION"}
# Terraform's S3 backend sets this itself for skip_metadata_api_check (aws-sdk-go-base), so
# its provisioners inherit it; the worker's environment does not hold it.
TERRAFORM_ENV.add("AWS_EC2_METADATA_DISABLED")
ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


def _document(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass
class Aws:
    server: MotoServer
    worker: dict[str, str]

    def s3(self, credentials: dict[str, str]) -> Any:
        return self.server.client("s3", **credentials)

    def assume(self, role: str = ROLE) -> dict[str, str]:
        """What the worker can buy with its own keys (the test's view, not stackrun's)."""
        answer = self.server.client("sts", **self.worker).assume_role(
            RoleArn=role, RoleSessionName="the-test"
        )
        credentials = answer["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "session_token": credentials["SessionToken"],
        }

    def assumed_roles(self) -> list[dict[str, Any]]:
        data = httpx.get(f"{self.server.url}/moto-api/data.json", timeout=10).json()
        return list(data["sts"]["AssumedRole"])


@dataclass
class Pushed:
    deployment: Deployment
    aws: Aws
    runs: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aws]:
    """moto with: a worker user allowed only sts:AssumeRole on terraform-app; terraform-app,
    trusting that user, allowed s3:*; other-team, trusting someone else; the state bucket.
    Then every request is checked against moto's IAM (signature, policies, trust)."""
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        iam = server.client("iam")
        iam.create_user(UserName=WORKER_USER)
        iam.put_user_policy(
            UserName=WORKER_USER,
            PolicyName="assume-terraform-app",
            PolicyDocument=_document(
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE}
            ),
        )
        key = iam.create_access_key(UserName=WORKER_USER)["AccessKey"]
        for name, principal in (("terraform-app", WORKER_USER), ("other-team", "someone-else")):
            iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=_document(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{principal}"},
                        "Action": "sts:AssumeRole",
                    }
                ),
            )
            iam.put_role_policy(
                RoleName=name,
                PolicyName="state",
                PolicyDocument=_document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
            )
        server.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": server.region}
        )
        httpx.post(f"{server.url}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
        yield Aws(server, {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]})


def _stack(name: str, role: str | None, endpoint: str) -> dict[str, str]:
    role_line = f'  aws_role_arn = "{role}"\n' if role else ""
    return {
        f"{name}/stackrun.hcl": f'stack {{\n  name       = "{name}"\n  autodeploy = true\n'
        f"{role_line}}}\n",
        f"{name}/main.tf": f"""terraform {{
  backend "s3" {{
    bucket                      = "{BUCKET}"
    key                         = "{name}/terraform.tfstate"
    region                      = "eu-west-1"
    endpoint                    = "{endpoint}"
    sts_endpoint                = "{endpoint}"
    iam_endpoint                = "{endpoint}"
    force_path_style            = true
    skip_credentials_validation = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
  }}
}}

resource "null_resource" "this" {{
  provisioner "local-exec" {{
    command = "env | grep ^AWS_ | sort"
  }}
}}
""",
    }


@pytest.fixture(scope="module")
def pushed(
    tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path, aws: Aws
) -> Iterator[Pushed]:
    """One push of three autodeploy stacks, all with the same S3 backend: app (may assume
    terraform-app), forbidden (names other-team), norole (no role at all)."""
    root = tmp_path_factory.mktemp("aws-role")
    worker_env = {
        "AWS_ACCESS_KEY_ID": aws.worker["access_key"],
        "AWS_SECRET_ACCESS_KEY": aws.worker["secret_key"],
        "AWS_DEFAULT_REGION": aws.server.region,
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
        "AWS_STACKRUN_WORKER_ONLY": "a variable Terraform must not see",
        "STACKRUN_AWS_ENDPOINT_URL": aws.server.url,
    }
    with fresh_postgres_database() as url:
        deployment = start_services(
            root / "stackrun", tf_cli_config, url, flushed_redis(), extra_env=worker_env
        )
        try:
            platform = GitPlatform(root / "platform")
            deployment.register(platform, SECRET)
            files = {
                **_stack("app", ROLE, aws.server.url),
                **_stack("forbidden", FORBIDDEN, aws.server.url),
                **_stack("norole", None, aws.server.url),
            }
            before, after = platform.commit(files, "three stacks on one S3 backend")
            response = deployment.webhook(platform.push_body(before, after), SECRET)
            assert response.status_code == 202, response.text

            def settled() -> dict[str, dict[str, Any]] | None:
                runs = [r for r in deployment.runs() if r["commit"]["sha"] == after]
                if len(runs) == 3 and all(r["state"] in {"FINISHED", "FAILED"} for r in runs):
                    return {r["stack"].rsplit("/", 1)[-1]: deployment.run(r["id"]) for r in runs}
                return None

            runs = deployment.wait(settled, "the three runs to end", timeout=90)
            yield Pushed(deployment, aws, runs)
        finally:
            deployment.stop()


def test_iam_is_really_enforced_the_worker_alone_cannot_touch_the_bucket(aws: Aws) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        aws.s3(aws.worker).list_objects_v2(Bucket=BUCKET)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as unknown:
        aws.s3({"access_key": "AKIAIOSFODNN7EXAMPLE", "secret_key": "x" * 40}).list_buckets()
    assert unknown.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        aws.assume(FORBIDDEN)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    aws.s3(aws.assume()).list_objects_v2(Bucket=BUCKET)  # the role may


def test_the_assumed_role_credentials_reach_terraform_and_its_s3_state(pushed: Pushed) -> None:
    run = pushed.runs["app"]
    assert run["state"] == "FINISHED", (run["failure_reason"], pushed.deployment.logs_of(run["id"]))
    assert [t["to"] for t in run["history"]][-1] == "FINISHED"
    name = session_name(run["id"], run["stack"])
    (assumed,) = [r for r in pushed.aws.assumed_roles() if r["session_name"] == name]
    assert assumed["role_arn"] == ROLE

    state = pushed.aws.s3(pushed.aws.assume()).get_object(
        Bucket=BUCKET, Key="app/terraform.tfstate"
    )
    document = json.loads(state["Body"].read())
    assert [r["type"] for r in document["resources"]] == ["null_resource"]

    log = pushed.deployment.logs_of(run["id"])
    assert f"stackrun: assumed {ROLE} as {name} for 3600s" in log
    assert "$ terraform init" in log
    # Terraform's own environment, as its local-exec provisioner printed it: the role's
    # credentials (masked) and region, and nothing of the worker's AWS settings (its keys,
    # AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_STACKRUN_WORKER_ONLY).
    printed = dict(
        line.split("(local-exec): ", 1)[1].split("=", 1)
        for line in log.splitlines()
        if "(local-exec): AWS_" in line
    )
    assert set(printed) == TERRAFORM_ENV, log
    assert printed["AWS_ACCESS_KEY_ID"] == "***"
    assert printed["AWS_SECRET_ACCESS_KEY"] == "***"
    assert printed["AWS_SESSION_TOKEN"] == "***"
    assert printed["AWS_REGION"] == printed["AWS_DEFAULT_REGION"] == "eu-west-1"
    for secret in (
        assumed["access_key_id"],
        assumed["secret_access_key"],
        assumed["session_token"],
        pushed.aws.worker["access_key"],
        pushed.aws.worker["secret_key"],
    ):
        assert secret not in log
    assert ACCESS_KEY_ID.search(log) is None, log


def test_a_role_the_worker_may_not_assume_fails_the_run_before_terraform(
    pushed: Pushed,
) -> None:
    run = pushed.runs["forbidden"]
    log = pushed.deployment.logs_of(run["id"])
    assert run["state"] == "FAILED", log
    reason = run["failure_reason"]
    assert FORBIDDEN in reason
    assert "AccessDenied" in reason
    states = [t["to"] for t in run["history"]]
    assert "INITIALIZING" not in states, states
    assert states[-1] == "FAILED"
    assert "$ terraform" not in log
    assert "stackrun: assumed" not in log
    for secret in (pushed.aws.worker["secret_key"], pushed.aws.worker["access_key"]):
        assert secret not in log + reason
    s3 = pushed.aws.s3(pushed.aws.assume())
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert "forbidden/terraform.tfstate" not in keys


def test_a_refused_role_is_the_runs_stated_failure_not_an_internal_error(pushed: Pushed) -> None:
    """AssumeRoleFailed is an expected way for a run to fail (STS refused or unreachable): it is
    said in the run's log and reason like a Terraform error, not reported as a crash."""
    run = pushed.runs["forbidden"]
    expected = f"assuming role {FORBIDDEN} for run {run['id']}: AccessDenied: "
    assert run["failure_reason"].startswith(expected), run["failure_reason"]
    log = pushed.deployment.logs_of(run["id"])
    assert f"stackrun: run failed: {expected}" in log, log
    assert f"run={run['id']} procedure crashed" not in pushed.deployment.worker_logs()


def test_without_a_role_terraform_gets_no_aws_credentials_at_all(pushed: Pushed) -> None:
    """The worker's own keys are in its environment, but never in Terraform's: a stack without
    aws_role_arn finds no credentials for its S3 backend (not the worker's, AccessDenied)."""
    run = pushed.runs["norole"]
    log = pushed.deployment.logs_of(run["id"])
    assert run["state"] == "FAILED", log
    assert "no valid credential sources for S3 Backend found" in run["failure_reason"]
    assert "stackrun: assumed" not in log
    assert "$ terraform init" in log
    assert pushed.aws.worker["access_key"] not in log
    names = [r["session_name"] for r in pushed.aws.assumed_roles()]
    assert session_name(run["id"], run["stack"]) not in names
