"""Variables and contexts end to end: written through the API, envelope-encrypted with a KMS
key in moto's standalone server, resolved by precedence into a real Terraform run, and every
secret form masked wherever stackrun shows or stores text."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform, start_services
from tests.support.moto_server import MotoServer, moto_server

pytestmark = pytest.mark.integration

SECRET = "vars-webhook-secret"
STACK = "acme/platform/app"
RAW = "Sup3r$ecret/Value+42=="
MULTILINE = "line-one-AAAA1\nline-two-BBBB2\nline-three-CCCC3"
TF_SECRET = "tf-db-pass-Zq9!x"

PRINTS = r"""
printf 'raw=%s\n' "$SECRET_RAW"
printf 'b64=%s\n' "$(printf %s "$SECRET_RAW" | base64 -w0)"
python3 -c 'import os, urllib.parse as u; print("url="+u.quote(os.environ["SECRET_RAW"], safe=""))'
printf '%s\n' "$SECRET_ML"
python3 -c 'import json, os; print("json=" + json.dumps({"k": os.environ["SECRET_ML"]}))'
printf 'greeting=%s\n' "$GREETING"
sleep 3
"""

MAIN_TF = f"""
variable "size" {{
  type = string
}}
variable "region" {{
  type = string
}}
variable "db_password" {{
  type      = string
  sensitive = true
}}
resource "null_resource" "print" {{
  triggers = {{ size = var.size, region = var.region }}
  provisioner "local-exec" {{
    command = <<EOT
{PRINTS}
EOT
  }}
}}
output "size" {{
  value = var.size
}}
output "region" {{
  value = var.region
}}
output "db_password" {{
  value     = var.db_password
  sensitive = true
}}
"""


def secret_forms() -> dict[str, str]:
    """Every form of every secret that must never show up."""
    forms = {"raw": RAW, "tf": TF_SECRET, "multiline": MULTILINE}
    for label, value in (("raw", RAW), ("tf", TF_SECRET)):
        encoded = value.encode()
        forms[f"{label}-b64"] = base64.b64encode(encoded).decode()
        forms[f"{label}-b64url"] = base64.urlsafe_b64encode(encoded).decode().rstrip("=")
        forms[f"{label}-url"] = urllib.parse.quote(value, safe="")
    for number, line in enumerate(MULTILINE.splitlines()):
        forms[f"line-{number}"] = line
    forms["multiline-json"] = json.dumps(MULTILINE)[1:-1]
    return forms


class World:
    def __init__(
        self, deployment: Deployment, platform: GitPlatform, redis_url: str, repository_id: int
    ) -> None:
        self.repository_id = repository_id
        self.deployment = deployment
        self.platform = platform
        self.redis_url = redis_url
        self.responses: list[str] = []

    def call(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        with self.deployment.client(role) as api:
            response = api.request(method, path, **kwargs)
        self.responses.append(response.text)
        return response


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path, moto: MotoServer
) -> Iterator[World]:
    key_id = moto.client("kms").create_key()["KeyMetadata"]["KeyId"]
    root = tmp_path_factory.mktemp("variables")
    redis_url = flushed_redis()
    env = {**moto.env(), "STACKRUN_KMS_KEY_ID": key_id, "STACKRUN_AWS_ENDPOINT_URL": moto.url}
    with fresh_postgres_database() as url:
        deployment = start_services(root / "stackrun", tf_cli_config, url, redis_url, extra_env=env)
        platform = GitPlatform(root / "platform")
        registered = deployment.register(platform, SECRET)
        yield World(deployment, platform, redis_url, int(registered["id"]))
        deployment.stop()


def _stack_files() -> dict[str, str]:
    return {
        "app/stackrun.hcl": 'stack {\n  name       = "app"\n  labels     = ["team-a"]\n'
        "  autodeploy = true\n}\n",
        "app/main.tf": MAIN_TF,
    }


def test_a_secret_variable_is_write_only_and_a_plain_one_readable(world: World) -> None:
    before, after = world.platform.commit(_stack_files(), "add app")
    assert (
        world.deployment.webhook(world.platform.push_body(before, after), SECRET).status_code == 202
    )
    runs = world.deployment.wait(
        lambda: [r for r in world.deployment.runs() if r["commit"]["sha"] == after] or None,
        "the first run",
    )
    world.deployment.wait_run_state(runs[0]["id"], {"FAILED", "FINISHED"})
    put = world.call(
        "admin",
        "PUT",
        f"/api/v1/stacks/{STACK}/variables",
        json={"name": "SECRET_RAW", "value": RAW, "secret": True},
    )
    assert put.status_code == 200, put.text
    assert "value" not in put.json() and len(put.json()["checksum"]) == 64
    plain = world.call(
        "admin",
        "PUT",
        f"/api/v1/stacks/{STACK}/variables",
        json={"name": "size", "value": "stack-size", "kind": "terraform"},
    )
    assert plain.json()["value"] == "stack-size"
    listed = world.call("viewer", "GET", f"/api/v1/stacks/{STACK}/variables").json()
    assert {v["name"]: v.get("value") for v in listed} == {"SECRET_RAW": None, "size": "stack-size"}


def test_bad_variable_writes_are_refused_precisely_and_never_echo_the_value(world: World) -> None:
    path = f"/api/v1/stacks/{STACK}/variables"
    viewer = world.call("viewer", "PUT", path, json={"name": "X", "value": RAW, "secret": True})
    assert viewer.status_code == 403
    bad_name = world.call("admin", "PUT", path, json={"name": "1BAD", "value": RAW})
    assert bad_name.status_code == 422 and "1BAD" in bad_name.json()["detail"]
    reserved = world.call("admin", "PUT", path, json={"name": "TF_VAR_x", "value": RAW})
    assert reserved.status_code == 422 and 'kind "terraform"' in reserved.json()["detail"]
    malformed = world.call("admin", "PUT", path, json={"value": RAW, "kind": "file"})
    assert malformed.status_code == 422
    assert RAW not in malformed.text
    again = world.call(
        "admin", "POST", path, json={"name": "SECRET_RAW", "value": "x1234", "secret": True}
    )
    assert again.status_code == 409
    downgrade = world.call("admin", "PUT", path, json={"name": "SECRET_RAW", "value": "x1234"})
    assert downgrade.status_code == 409 and "secret" in downgrade.json()["detail"]
    missing = world.call("admin", "DELETE", f"{path}/NOPE")
    assert missing.status_code == 404
    unknown_stack = world.call("viewer", "GET", "/api/v1/stacks/acme/platform/nope/variables")
    assert unknown_stack.status_code == 404


def test_a_run_gets_stack_over_context_over_repository_values_with_every_secret_masked(
    world: World,
) -> None:
    repo_vars = f"/api/v1/repositories/{world.repository_id}/variables"
    for body in (
        {"name": "GREETING", "value": "from-repository"},
        {"name": "region", "value": "repo-region", "kind": "terraform"},
        {"name": "size", "value": "repo-size", "kind": "terraform"},
        {"name": "db_password", "value": TF_SECRET, "kind": "terraform", "secret": True},
    ):
        assert world.call("admin", "PUT", repo_vars, json=body).status_code == 200
    created = world.call(
        "admin", "POST", "/api/v1/contexts", json={"name": "team-a", "labels": ["team-a"]}
    )
    assert created.status_code == 201, created.text
    for body in (
        {"name": "GREETING", "value": "from-context"},
        {"name": "SECRET_ML", "value": MULTILINE, "secret": True},
        {"name": "size", "value": "context-size", "kind": "terraform"},
    ):
        answer = world.call("admin", "PUT", "/api/v1/contexts/team-a/variables", json=body)
        assert answer.status_code == 200, answer.text

    seen: list[str] = []
    watching = threading.Event()
    watcher = threading.Thread(target=_watch_terraform_argv, args=(seen, watching), daemon=True)
    watcher.start()
    trigger = world.call("admin", "POST", f"/api/v1/stacks/{STACK}/runs")
    assert trigger.status_code == 201, trigger.text
    run_id = trigger.json()["id"]
    finished = world.deployment.wait_run_state(run_id, {"FINISHED", "FAILED"}, timeout=180)
    watching.set()
    watcher.join(timeout=10)
    log = world.deployment.logs_of(run_id)
    assert finished["state"] == "FINISHED", log
    assert "greeting=from-context" in log
    assert 'size = "stack-size"' in log and 'region = "repo-region"' in log
    assert "db_password = <sensitive>" in log
    assert "variable GREETING (plain) from context team-a; overrides the defaults of" in log
    assert "raw=***" in log and "b64=***" in log and "url=***" in log
    assert seen, "the watcher saw no terraform process"
    world.responses.append(log)
    world.responses.append(json.dumps(world.deployment.run(run_id)))
    _assert_nowhere(world, seen, secret_forms())


def _watch_terraform_argv(seen: list[str], stop: threading.Event) -> None:
    """Every terraform process's /proc/<pid>/cmdline while the run lasts."""
    while not stop.wait(0.05):
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "terraform" in argv and argv not in seen:
                seen.append(argv)


def _assert_nowhere(world: World, argv: list[str], forms: dict[str, str]) -> None:
    stored = [
        p.read_text(errors="replace")
        for p in (Path(world.deployment.env["STACKRUN_DATA_DIR"]) / "artifacts").rglob("log.txt")
    ]
    queued = _redis_texts(world.redis_url)
    places = {"api responses": world.responses, "stored logs": stored, "argv": argv}
    places["redis (broker and results)"] = queued
    for place, texts in places.items():
        for label, form in forms.items():
            hits = [t for t in texts if form in t]
            assert not hits, f"{label} form of a secret found in {place}"


def _redis_texts(url: str) -> list[str]:
    client = redis.Redis.from_url(url)
    texts: list[str] = []
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"string":
            texts.append(str(client.get(key)))
        elif kind == b"list":
            texts += [str(v) for v in client.lrange(key, 0, -1)]
        elif kind == b"hash":
            texts += [str(v) for v in client.hgetall(key).values()]
        elif kind == b"zset":
            texts += [str(v) for v in client.zrange(key, 0, -1)]
    return texts


def test_a_run_fails_closed_naming_the_variable_when_kms_refuses(
    world: World, moto: MotoServer
) -> None:
    """moto's IAM enforcement refuses the deployment's unknown access key: the worker cannot
    decrypt, so the run fails before Terraform starts, saying which variable and why."""
    httpx.post(f"{moto.url}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
    try:
        trigger = world.call("admin", "POST", f"/api/v1/stacks/{STACK}/runs")
        assert trigger.status_code == 201, trigger.text
        run = world.deployment.wait_run_state(trigger.json()["id"], {"FINISHED", "FAILED"})
    finally:
        httpx.post(f"{moto.url}/moto-api/reset-auth", content=b"inf", timeout=10)
    log = world.deployment.logs_of(run["id"])
    assert run["state"] == "FAILED", log
    reason = run["failure_reason"]
    assert reason.startswith("reading variable "), reason
    assert "KMS key " in reason and "InvalidClientTokenId" in reason, reason
    assert f"stackrun: run failed: {reason}" in log
    assert "$ terraform" not in log
    assert "INITIALIZING" not in [t["to"] for t in run["history"]]
    assert f"run={run['id']} procedure crashed" not in world.deployment.worker_logs()
    world.responses.extend([log, json.dumps(run)])
    _assert_nowhere(world, [], secret_forms())


def test_deleting_a_context_removes_its_variables(world: World) -> None:
    assert world.call("admin", "DELETE", "/api/v1/contexts/team-a").status_code == 204
    assert world.call("viewer", "GET", "/api/v1/contexts/team-a").status_code == 404
    assert world.call("viewer", "GET", "/api/v1/contexts").json() == []
