"""Terraform from a branch is untrusted code (issue 15), tested as the attacker: a branch push
whose Terraform tries to read the stack's secret, the host's files, the master key and the
database finds none of them, while a trusted tracked run still gets its secret, masked."""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.harness import Deployment, GitPlatform, spawn, start_services

pytestmark = pytest.mark.integration

SECRET = "untrusted-webhook-secret"
DB_PASSWORD = "Hunter2-Zq9x-Secret"
STACK = "acme/platform/app"

APP_TF = """
variable "db_password" {
  type      = string
  sensitive = true
  default   = "not-given"
}
resource "null_resource" "app" {
  triggers = { password_length = length(var.db_password) }
}
output "password_length" {
  value = nonsensitive(length(var.db_password))
}
"""


def leak_tf(data_dir: Path) -> str:
    """Every way the probe read the server's secrets; each read that fails says so instead of
    failing the plan, so one run tries them all."""
    return f"""
output "spelled" {{
  value = join("-", split("", nonsensitive(var.db_password)))
}}
output "reversed" {{
  value = join("", reverse(split("", nonsensitive(var.db_password))))
}}
output "passwd" {{
  value = substr(file("/etc/passwd"), 0, 80)
}}
output "key" {{
  value = try(filebase64("{data_dir}/secret.key"), "key-unreadable")
}}
output "database" {{
  value = try(filebase64("{data_dir}/stackrun.db"), "database-unreadable")
}}
output "backend" {{
  value = try(file("${{path.module}}/.stackrun-backend.hcl"), "no-backend-file")
}}
output "server_log" {{
  value = try(file("{data_dir}/up.log"), "log-unreadable")
}}
"""


def _register(deployment: Deployment, platform: GitPlatform) -> dict[str, Any]:
    repository = deployment.register(platform, SECRET)
    with deployment.client() as api:
        answer = api.put(
            f"/api/v1/repositories/{repository['id']}/variables",
            json={"name": "db_password", "value": DB_PASSWORD, "secret": True, "kind": "terraform"},
        )
    assert answer.status_code == 200, answer.text
    return repository


def _push(
    deployment: Deployment, platform: GitPlatform, before: str, after: str, branch: str
) -> None:
    body = platform.push_body(before, after, pusher="mallory", branch=branch)
    assert deployment.webhook(body, SECRET).status_code == 202


def _run_at(deployment: Deployment, sha: str) -> dict[str, Any]:
    found = deployment.wait(
        lambda: [r for r in deployment.runs() if r["commit"]["sha"] == sha], f"a run at {sha}"
    )
    return dict(found[0])


def secret_forms() -> list[str]:
    return [
        DB_PASSWORD,
        "-".join(DB_PASSWORD),
        DB_PASSWORD[::-1],
        base64.b64encode(DB_PASSWORD.encode()).decode(),
    ]


def test_a_branch_push_reads_no_secret_host_file_key_or_database(
    embedded: Deployment, platform: GitPlatform
) -> None:
    data_dir = Path(embedded.env["STACKRUN_DATA_DIR"])
    _register(embedded, platform)
    before, after = platform.commit({"app/stackrun.hcl": "stack {}\n", "app/main.tf": APP_TF})
    _push(embedded, platform, before, after, "main")
    tracked = _run_at(embedded, after)
    embedded.wait_run_state(tracked["id"], {"UNCONFIRMED"})

    sha = platform.commit_on("feature-leak", {"app/leak.tf": leak_tf(data_dir)})
    _push(embedded, platform, "0" * 40, sha, "feature-leak")
    proposed = _run_at(embedded, sha)
    assert proposed["kind"] == "PROPOSED"
    ended = embedded.wait_run_state(proposed["id"], {"FINISHED"})
    log = embedded.logs_of(proposed["id"])

    assert "bubblewrap sandbox" in log, log
    assert "this proposed run is untrusted" in log and "TF_VAR_db_password" in log
    for form in secret_forms():
        assert form not in log, f"the secret leaked as {form!r}"
    assert "n-o-t---g-i-v-e-n" in log, log
    host_users = [line.split(":")[0] for line in Path("/etc/passwd").read_text().splitlines()]
    assert "root:x:0:0" not in log and not any(f"{u}:x:" in log for u in host_users), log
    key = (data_dir / "secret.key").read_bytes()
    assert key.decode() not in log and base64.b64encode(key).decode() not in log
    assert '"key-unreadable"' in log and '"database-unreadable"' in log, log
    assert '"log-unreadable"' in log, log
    backend = [line.strip() for line in log.splitlines() if line.strip().startswith("username")]
    assert backend == [f'username       = "run-{proposed["id"]}"'], "the run's own credential only"
    assert not re.search(r"^\s*password\s*=", log, re.MULTILINE), "a password in the backend file"
    assert ended["failure_reason"] in (None, "")
    embedded.wait_run_state(tracked["id"], {"UNCONFIRMED"})


def test_a_proposed_run_log_is_for_approvers_unless_the_repository_opens_it(
    embedded: Deployment, platform: GitPlatform
) -> None:
    repository = _register(embedded, platform)
    before, after = platform.commit({"app/stackrun.hcl": "stack {}\n", "app/main.tf": APP_TF})
    _push(embedded, platform, before, after, "main")
    sha = platform.commit_on("feature-peek", {"app/peek.tf": "# peek\n"})
    _push(embedded, platform, "0" * 40, sha, "feature-peek")
    proposed = _run_at(embedded, sha)
    with embedded.client("viewer") as viewer:
        refused = viewer.get(f"/api/v1/runs/{proposed['id']}/logs")
        assert refused.status_code == 403 and "approver" in refused.text
        with embedded.client() as admin:
            opened = admin.patch(
                f"/api/v1/repositories/{repository['id']}", json={"proposed_logs_public": True}
            )
        assert opened.status_code == 200 and opened.json()["trust"]["proposed_logs_public"]
        assert viewer.get(f"/api/v1/runs/{proposed['id']}/logs").status_code == 200


def test_a_trusted_author_s_proposed_run_and_a_tracked_run_get_the_secret_masked(
    embedded: Deployment, platform: GitPlatform
) -> None:
    repository = _register(embedded, platform)
    with embedded.client() as admin:
        trusted = admin.patch(
            f"/api/v1/repositories/{repository['id']}", json={"trusted_authors": [" mallory "]}
        )
    assert trusted.json()["trust"]["trusted_authors"] == ["mallory"]
    printing = APP_TF + (
        'resource "null_resource" "show" {\n'
        '  provisioner "local-exec" {\n'
        '    command = "echo password=$PW"\n'
        "    environment = { PW = nonsensitive(var.db_password) }\n"
        "  }\n}\n"
    )
    before, after = platform.commit({"app/stackrun.hcl": "stack {}\n", "app/main.tf": printing})
    _push(embedded, platform, before, after, "main")
    tracked = _run_at(embedded, after)
    embedded.wait_run_state(tracked["id"], {"UNCONFIRMED"})
    assert embedded.run(tracked["id"])["plan_summary"]["add"] == 2
    with embedded.client("approver") as approver:
        assert approver.post(f"/api/v1/runs/{tracked['id']}/approve").status_code == 200
    embedded.wait_run_state(tracked["id"], {"FINISHED"})
    log = embedded.logs_of(tracked["id"])
    assert "(local-exec): password=***" in log, log
    assert DB_PASSWORD not in log
    with embedded.client() as admin:
        outputs = admin.get(f"/api/v1/stacks/{STACK}/state").json()
    assert outputs["outputs"]["password_length"]["value"] == len(DB_PASSWORD)

    sha = platform.commit_on("feature-trusted", {"app/note.tf": "# trusted\n"})
    _push(embedded, platform, "0" * 40, sha, "feature-trusted")
    proposed = _run_at(embedded, sha)
    embedded.wait_run_state(proposed["id"], {"FINISHED"})
    assert "untrusted" not in embedded.logs_of(proposed["id"])


DB_TF = """
output "url" {
  value     = "postgres://app:Db-Pa55-Upstream@db:5432/app"
  sensitive = true
}
"""
CONSUMER_TF = """
variable "db_password" {
  type      = string
  sensitive = true
}
variable "db_url" {
  type      = string
  sensitive = true
}
output "lengths" {
  value = nonsensitive("${length(var.db_password)}/${length(var.db_url)}")
}
"""
CONSUMER_HCL = """
stack {
  autodeploy = true
  input "db_url" {
    stack  = "../db"
    output = "url"
  }
}
"""


def test_a_worker_without_the_master_key_applies_runs_that_need_secrets(
    tmp_path: Path, tf_cli_config: Path, postgres_url: str, redis_url: str
) -> None:
    """The API holds the key; the worker has its own data directory, no key file and no
    STACKRUN_SECRET_KEY, and still applies a stack whose plan needs a secret variable and a
    sensitive upstream output: it read them through the run's credential."""
    shared = {"STACKRUN_ARTIFACTS_URL": f"file://{tmp_path / 'artifacts'}"}
    api_dir, worker_dir = tmp_path / "api", tmp_path / "worker"
    deployment = start_services(api_dir, tf_cli_config, postgres_url, redis_url, 0, False, shared)
    try:
        worker_env = {**deployment.env, "STACKRUN_DATA_DIR": str(worker_dir)}
        worker_dir.mkdir()
        log = worker_dir / "worker.log"
        deployment.processes.append(
            spawn(
                [sys.executable, "-m", "orchestrator.cli", "worker", "--name", "keyless"],
                worker_env,
                log,
            )
        )
        deployment.logs.append(log)
        platform = GitPlatform(tmp_path / "git")
        _register(deployment, platform)
        before, after = platform.commit(
            {
                "db/stackrun.hcl": "stack {\n  autodeploy = true\n}\n",
                "db/main.tf": DB_TF,
                "app/stackrun.hcl": CONSUMER_HCL,
                "app/main.tf": CONSUMER_TF,
            }
        )
        _push(deployment, platform, before, after, "main")
        runs = deployment.wait(lambda: len(deployment.runs()) == 2 and deployment.runs(), "runs")
        for run in runs:
            deployment.wait_run_state(run["id"], {"FINISHED"}, timeout=180)
        with deployment.client() as admin:
            state = admin.get(f"/api/v1/stacks/{STACK}/state").json()
        expected = f"{len(DB_PASSWORD)}/{len('postgres://app:Db-Pa55-Upstream@db:5432/app')}"
        assert state["outputs"]["lengths"]["value"] == expected
        assert (api_dir / "secret.key").exists()
        assert not (worker_dir / "secret.key").exists(), "the worker made or read a master key"
        app_log = next(deployment.logs_of(r["id"]) for r in runs if r["stack"] == STACK)
        assert DB_PASSWORD not in app_log and "Db-Pa55-Upstream" not in app_log
    finally:
        deployment.stop()


OWN_STATE_PROBE = """
locals {
  env  = split("\\u0000", file("/proc/self/environ"))
  cred = one([
    for e in local.env : replace(e, "TF_HTTP_PASSWORD=", "")
    if length(regexall("^TF_HTTP_PASSWORD=", e)) > 0
  ])
}
data "terraform_remote_state" "self" {
  backend = "http"
  config = {
    address  = "API/api/v1/stacks/acme/platform/app/state"
    username = "run-RUN"
    password = local.cred
  }
}
output "own_state_pw" {
  value = join("-", split("", data.terraform_remote_state.self.outputs.pw))
}
"""
SENSITIVE_OUTPUT_TF = (
    APP_TF
    + """
output "pw" {
  value     = var.db_password
  sensitive = true
}
"""
)


def test_an_untrusted_run_reading_its_own_state_finds_no_secret(
    embedded: Deployment, platform: GitPlatform
) -> None:
    """The attack: a proposed run reads its stack's state with its own run credential (from
    /proc/self/environ) and prints a sensitive output spelled out. The state it reads has it
    withheld."""
    _register(embedded, platform)
    files = {
        "app/stackrun.hcl": "stack {\n  autodeploy = true\n}\n",
        "app/main.tf": SENSITIVE_OUTPUT_TF,
    }
    before, after = platform.commit(files)
    _push(embedded, platform, before, after, "main")
    embedded.wait_run_state(_run_at(embedded, after)["id"], {"FINISHED"})
    next_run = len(embedded.runs()) + 1
    probe = OWN_STATE_PROBE.replace("API", embedded.url).replace("RUN", str(next_run))
    sha = platform.commit_on("feature-own-state", {"app/probe.tf": probe})
    _push(embedded, platform, "0" * 40, sha, "feature-own-state")
    proposed = _run_at(embedded, sha)
    assert proposed["id"] == next_run
    embedded.wait_run_state(proposed["id"], {"FINISHED", "FAILED"}, timeout=120)
    log = embedded.logs_of(proposed["id"]) + str(embedded.run(proposed["id"])["failure_reason"])
    for form in secret_forms():
        assert form not in log, f"the secret leaked as {form!r}"
    assert "-".join("(sensitive: withheld from an untrusted run)") in log, log


UNTRUSTED_PLANS_NOTHING = """package acme.trust
import rego.v1

deny contains msg if {
  not input.stackrun.run.trusted
  msg := sprintf("run %d is untrusted: its author may not plan here", [input.stackrun.run.id])
}
"""


def test_a_plan_policy_sees_whether_the_run_is_trusted(
    embedded: Deployment, platform: GitPlatform
) -> None:
    """A team's plan policy denies untrusted proposals: the tracked run passes it, mallory's
    branch fails it, and once the repository trusts mallory the next proposal passes."""
    repository = _register(embedded, platform)
    with embedded.client() as admin:
        made = admin.post(
            "/api/v1/policies",
            json={"name": "trusted-only", "type": "plan", "body": UNTRUSTED_PLANS_NOTHING},
        )
    assert made.status_code == 201, made.text
    before, after = platform.commit({"app/stackrun.hcl": "stack {}\n", "app/main.tf": APP_TF})
    _push(embedded, platform, before, after, "main")
    embedded.wait_run_state(_run_at(embedded, after)["id"], {"UNCONFIRMED"})

    sha = platform.commit_on("feature-untrusted", {"app/a.tf": "# a\n"})
    _push(embedded, platform, "0" * 40, sha, "feature-untrusted")
    denied = embedded.wait_run_state(_run_at(embedded, sha)["id"], {"FAILED", "FINISHED"})
    assert denied["state"] == "FAILED", denied
    assert f"run {denied['id']} is untrusted" in embedded.logs_of(denied["id"])

    with embedded.client() as admin:
        trusts = admin.patch(
            f"/api/v1/repositories/{repository['id']}", json={"trusted_authors": ["mallory"]}
        )
    assert trusts.status_code == 200, trusts.text
    sha = platform.commit_on("feature-trusted-now", {"app/b.tf": "# b\n"})
    _push(embedded, platform, "0" * 40, sha, "feature-trusted-now")
    passed = embedded.wait_run_state(_run_at(embedded, sha)["id"], {"FAILED", "FINISHED"})
    assert passed["state"] == "FINISHED", passed


NEEDS_SECRET_TF = """
variable "db_password" {
  type      = string
  sensitive = true
}
output "password_length" {
  value = nonsensitive(length(var.db_password))
}
"""


def test_a_proposal_whose_plan_needs_a_secret_fails_saying_it_got_none(
    embedded: Deployment, platform: GitPlatform
) -> None:
    """The stack's plan needs db_password: the tracked run gets it and plans; mallory's branch
    of the same stack fails, and its failure says why (no secrets for an untrusted author)."""
    repository = _register(embedded, platform)
    files = {"app/stackrun.hcl": "stack {}\n", "app/main.tf": NEEDS_SECRET_TF}
    before, after = platform.commit(files)
    _push(embedded, platform, before, after, "main")
    embedded.wait_run_state(_run_at(embedded, after)["id"], {"UNCONFIRMED"})

    sha = platform.commit_on("feature-needs-secret", {"app/note.tf": "# a change\n"})
    _push(embedded, platform, "0" * 40, sha, "feature-needs-secret")
    failed = embedded.wait_run_state(_run_at(embedded, sha)["id"], {"FAILED"})
    reason = str(failed["failure_reason"])
    assert "db_password" in reason, reason
    assert "this proposed run received no secrets (TF_VAR_db_password withheld)" in reason, reason
    assert "because its author is not trusted" in reason, reason

    # A trusted author's token retrying mallory's proposal does not lend it the secrets.
    with embedded.client() as admin:
        admin.patch(f"/api/v1/repositories/{repository['id']}", json={"trusted_authors": ["alice"]})
        made = admin.post("/api/v1/tokens", json={"name": "alice", "role": "approver"})
    assert made.status_code == 201, made.text
    retried = httpx.post(
        f"{embedded.url}/api/v1/runs/{failed['id']}/retry",
        headers={"Authorization": f"Bearer {made.json()['token']}"},
        timeout=60,
    )
    assert retried.status_code == 200, retried.text
    again = embedded.wait_run_state(int(retried.json()["id"]), {"FAILED"})
    assert "this proposed run received no secrets" in str(again["failure_reason"]), again
    assert "a proposed run made by hand (retry:alice)" in embedded.logs_of(again["id"])
