"""Issue 15's low findings, probed as the attacker did, against a real deployment (PostgreSQL,
Redis, a celery worker, real Terraform): clone URLs that reach the server, a live run's state
credential against another holder's lock, and existence oracles of webhooks and state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from orchestrator.toolchain import resolve_terraform
from tests.integration.harness import Deployment, GitPlatform, start_embedded

pytestmark = pytest.mark.integration

SECRET = "boundary-secret-42"
VPC = {"vpc/stackrun.hcl": "stack {}\n", "vpc/main.tf": 'resource "null_resource" "vpc" {}\n'}
# A plan that reads a remote state from a server that never answers: the run stays PLANNING
# (live, its state credential valid) until the test closes the server.
HANGING = """\
data "terraform_remote_state" "never" {
  backend = "http"
  config = {
    address = "http://127.0.0.1:PORT/state"
  }
}
"""
CLI = (sys.executable, "-m", "orchestrator.cli")
HOLDER_LOCK = {
    "ID": "5f0d1c9e-holder-lock",
    "Operation": "OperationTypeApply",
    "Who": "alice@build-host-7",
    "Version": "1.0.3",
    "Info": "",
}


@pytest.fixture(scope="module")
def deployment(shared_services: Deployment) -> Deployment:
    return shared_services


@pytest.fixture(scope="module")
def platform(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> GitPlatform:
    """acme/platform, registered, with stack vpc pushed and planned (so a mirror exists)."""
    repo = GitPlatform(tmp_path_factory.mktemp("git"))
    deployment.register(repo, SECRET)
    before, after = repo.commit(VPC)
    assert deployment.webhook(repo.push_body(before, after), SECRET).status_code == 202
    (run,) = deployment.wait(lambda: deployment.runs(), "the run of vpc")
    deployment.wait_run_state(int(run["id"]), {"UNCONFIRMED"})
    return repo


def _data_dir(deployment: Deployment) -> Path:
    return Path(deployment.env["STACKRUN_DATA_DIR"])


def _repository_names(deployment: Deployment) -> list[str]:
    with deployment.client() as api:
        return [r["name"] for r in api.get("/api/v1/repositories").json()]


def _register(deployment: Deployment, name: str, clone_url: str) -> httpx.Response:
    with deployment.client() as api:
        return api.post(
            "/api/v1/repositories",
            json={"name": name, "clone_url": clone_url, "webhook_secret": SECRET},
        )


def _assert_refused(response: httpx.Response, rule: str, *hidden: str) -> None:
    assert response.status_code == 422, response.text
    assert rule in response.json()["detail"]
    for text in hidden:
        assert text not in response.text


def test_dangerous_clone_urls_are_422_with_the_rule_and_register_nothing(
    deployment: Deployment, platform: GitPlatform, tmp_path: Path
) -> None:
    data = _data_dir(deployment)
    marker = tmp_path / "pwned"
    (mirror,) = (data / "mirrors").glob("*.git")
    before = _repository_names(deployment)
    probes = {
        "ext::sh -c touch% /tmp/pwned": "remote helper",
        f"ext::sh -c touch% {marker}": "remote helper",
        "fd::0": "remote helper",
        "-uhttps://x": "must not start with '-'",
        "file:///etc": "no git repository",
        "/etc": "no git repository",
        str(mirror): "data directory",
        f"file://{mirror}": "data directory",
        f"{data}/../{data.name}/mirrors/{mirror.name}": "data directory",
        "http://git.example.com/acme/p.git": "scheme http://",
    }
    for number, (url, rule) in enumerate(probes.items()):
        response = _register(deployment, f"evil/probe-{number}", url)
        _assert_refused(response, rule, str(data), str(tmp_path), "/etc", "pwned")
    assert _repository_names(deployment) == before
    assert not marker.exists()


def test_the_cli_gets_the_same_refusal(deployment: Deployment, platform: GitPlatform) -> None:
    env = {
        **deployment.env,
        "STACKRUN_URL": deployment.url,
        "STACKRUN_TOKEN": deployment.token("admin"),
        "STACKRUN_WEBHOOK_SECRET": SECRET,
    }
    added = subprocess.run(
        [*CLI, "repos", "add", "--name", "evil/cli", "--clone-url", "ext::sh -c id"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 1
    assert "422" in added.stderr and "remote helper" in added.stderr
    assert "evil/cli" not in _repository_names(deployment)


def test_a_clone_url_cannot_be_changed_afterwards(
    deployment: Deployment, platform: GitPlatform
) -> None:
    with deployment.client() as api:
        (repository,) = [r for r in api.get("/api/v1/repositories").json()]
        patched = api.patch(
            f"/api/v1/repositories/{repository['id']}", json={"clone_url": "ext::sh -c id"}
        )
        assert patched.status_code == 422
        assert patched.json()["errors"][0]["loc"] == ["body", "clone_url"]
        assert "ext::" not in patched.text
        assert api.get("/api/v1/repositories").json() == [repository]


def _sql(deployment: Deployment, statement: str, *values: Any) -> None:
    url = deployment.env["STACKRUN_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement, values)


def test_a_stored_url_the_rule_refuses_fails_the_push_with_the_rule(
    deployment: Deployment, platform: GitPlatform, tmp_path: Path
) -> None:
    """A repository registered before the rule with `ext::`: its push fails as an event with
    the rule and computes no graph (the graph API, which never fetches, has none to serve);
    git never runs the command."""
    legacy = GitPlatform(tmp_path / "legacy", name="acme/legacy")
    repository = deployment.register(legacy, SECRET)
    marker = tmp_path / "pwned"
    _sql(
        deployment,
        "UPDATE repositories SET clone_url = %s WHERE id = %s",
        f"ext::sh -c touch% {marker}",
        repository["id"],
    )
    before, after = legacy.commit(VPC)
    pushed = deployment.webhook(legacy.push_body(before, after), SECRET, delivery="legacy-1")
    assert pushed.status_code == 202, pushed.text

    def settled() -> dict[str, Any] | None:
        with deployment.client() as api:
            event = api.get("/api/v1/events/legacy-1").json()
        return dict(event) if event["status"] not in ("received", "processing") else None

    event = deployment.wait(settled, "the legacy push to be processed")
    assert event["status"] == "failed", event
    assert "remote helper" in event["detail"] and "gave up" not in event["detail"]
    with deployment.client() as api:
        graph = api.get(f"/api/v1/repositories/{repository['id']}/graph")
    assert graph.status_code == 409 and "no push to its tracked branch" in graph.json()["detail"]
    assert not marker.exists()


def test_with_local_repositories_off_a_file_url_is_422(tmp_path: Path, tf_cli_config: Path) -> None:
    """The default: STACKRUN_ALLOW_LOCAL_REPOSITORIES unset (embedded defaults)."""
    platform = GitPlatform(tmp_path / "git")
    embedded = start_embedded(
        tmp_path / "stackrun", tf_cli_config, {"STACKRUN_ALLOW_LOCAL_REPOSITORIES": "false"}
    )
    try:
        for url in (platform.clone_url, str(platform.bare)):
            response = _register(embedded, "acme/local", url)
            _assert_refused(response, "STACKRUN_ALLOW_LOCAL_REPOSITORIES=true", str(tmp_path))
        assert _repository_names(embedded) == []
    finally:
        embedded.stop()


@contextmanager
def _silent_server() -> Iterator[int]:
    """A port that takes connections and never answers; closing it resets them."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield int(server.getsockname()[1])


def _credential(deployment: Deployment, run_id: int) -> str:
    """What the run's own Terraform can read (file("/proc/self/environ")): the password in
    TF_HTTP_PASSWORD of the terraform process working in the run's workspace."""
    workspace = str(_data_dir(deployment) / "workspaces" / f"run-{run_id}-plan")
    deployment.wait_run_state(run_id, {"PLANNING"})
    return str(deployment.wait(lambda: _password_of_process_in(workspace), f"run {run_id}"))


def _password_of_process_in(workspace: str) -> str | None:
    for proc in Path("/proc").iterdir():
        try:
            if not os.readlink(proc / "cwd").startswith(workspace):
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for entry in environ:
            if entry.startswith(b"TF_HTTP_PASSWORD="):
                return entry.split(b"=", 1)[1].decode()
    return None


def _state_call(
    url: str, method: str, run_id: int, password: str, info: dict[str, str]
) -> httpx.Response:
    return httpx.request(
        method, url, content=json.dumps(info), auth=(f"run-{run_id}", password), timeout=30
    )


def _terraform_locking(
    url: str, run_id: int, password: str, workdir: Path, env: dict[str, str]
) -> str:
    """What the attacker's terraform prints when it tries to take the held lock."""
    workdir.mkdir()
    (workdir / "main.tf").write_text('terraform {\n  backend "http" {}\n}\n')
    (workdir / "backend.hcl").write_text(
        f'address = "{url}"\nlock_address = "{url}"\nunlock_address = "{url}"\n'
        f'username = "run-{run_id}"\npassword = "{password}"\n'
    )
    terraform = resolve_terraform("terraform")
    subprocess.run(
        [terraform, "init", "-input=false", "-no-color", "-backend-config=backend.hcl"],
        cwd=workdir,
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    plan = subprocess.run(
        [terraform, "plan", "-input=false", "-no-color", "-lock-timeout=0s"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert plan.returncode != 0, plan.stdout
    return plan.stdout + plan.stderr


def _stop(deployment: Deployment, *run_ids: int) -> None:
    with deployment.client("approver") as api:
        for run_id in run_ids:
            api.post(f"/api/v1/runs/{run_id}/stop")


APPLYING_FOR_A_MINUTE = """\
resource "null_resource" "slow" {
  provisioner "local-exec" {
    command = "sleep 60"
  }
}
"""


def test_a_live_runs_credential_cannot_break_another_holders_lock(
    deployment: Deployment, platform: GitPlatform, tmp_path: Path
) -> None:
    """The holder: the tracked autodeploy run of stack hang, applying, whose terraform holds
    the state lock. The attacker: a proposed run of the same stack from a branch they pushed,
    kept planning, using its own (valid, live) run credential."""
    with _silent_server() as port:
        hang = {
            "hang/stackrun.hcl": "stack {\n  autodeploy = true\n}\n",
            "hang/main.tf": APPLYING_FOR_A_MINUTE,
        }
        before, after = platform.commit(hang)
        assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
        holder = int(deployment.wait(lambda: _run_at(deployment, after), "the holder run"))
        deployment.wait_run_state(holder, {"APPLYING"})
        steal = {"hang/steal.tf": HANGING.replace("PORT", str(port))}
        sha = platform.commit_on("feature/steal", steal)
        push = json.loads(platform.push_body(after, sha))
        push["ref"] = "refs/heads/feature/steal"
        assert deployment.webhook(json.dumps(push).encode(), SECRET).status_code == 202
        attacker = int(deployment.wait(lambda: _run_at(deployment, sha), "the attacker's run"))
        try:
            _break_attempts(deployment, holder, attacker, tmp_path)
        finally:
            _stop(deployment, attacker)


def _run_at(deployment: Deployment, sha: str) -> int | None:
    runs = [r for r in deployment.runs() if r["commit"]["sha"] == sha]
    return int(runs[0]["id"]) if runs else None


def _break_attempts(deployment: Deployment, holder: int, attacker: int, tmp_path: Path) -> None:
    url = f"{deployment.url}/api/v1/stacks/acme/platform/hang/state"
    theirs = _credential(deployment, attacker)
    locked = {"ID": f"locked by run {holder}"}
    grab = {"ID": "attacker-lock", "Who": "mallory"}
    deployment.wait(
        lambda: _state_call(url, "LOCK", attacker, theirs, grab).status_code == 423,
        "the holder's terraform to hold the state lock",
    )
    for method, info in (
        ("LOCK", grab),
        ("UNLOCK", {"ID": "a-guessed-lock-id"}),
        ("LOCK", {"ID": "a-guessed-lock-id"}),
        ("UNLOCK", {"ID": "attacker-lock"}),
    ):
        answer = _state_call(url, method, attacker, theirs, info)
        assert answer.status_code == 423, (method, info, answer.status_code, answer.text)
        assert answer.json() == locked, (method, answer.text)
    printed = _terraform_locking(url, attacker, theirs, tmp_path / "tf", deployment.env)
    assert "Error acquiring the state lock" in printed, printed
    assert f"HTTP remote state already locked: ID=locked by run {holder}" in printed, printed
    assert "Who" not in printed.split("already locked")[-1].split("\n")[0]
    # The holder's lock is intact: still held, and the holder's apply goes on.
    assert _state_call(url, "LOCK", attacker, theirs, grab).status_code == 423
    assert deployment.run(holder)["state"] == "APPLYING"


def test_a_badly_signed_or_unsigned_delivery_never_tells_whether_a_repository_exists(
    deployment: Deployment, platform: GitPlatform
) -> None:
    known = platform.push_body("0" * 40, "1" * 40)
    payload = json.loads(known)
    payload["repository"] = {
        "full_name": "acme/secret-project",
        "clone_url": "https://git.example.com/acme/secret-project.git",
    }
    unknown = json.dumps(payload).encode()
    pairs = {
        "unsigned": ((known, None), (unknown, None)),
        "a wrong secret": ((known, "a-guess"), (unknown, "a-guess")),
        "another repository's secret": ((known, "a-guess"), (unknown, SECRET)),
    }
    for case, deliveries in pairs.items():
        first, second = (deployment.webhook(body, secret) for body, secret in deliveries)
        assert first.status_code == second.status_code == 401, case
        assert first.json() == second.json(), case
        assert b"secret-project" not in second.content and b"acme/platform" not in first.content


def test_the_state_endpoint_answers_a_missing_and_a_real_stack_alike(
    deployment: Deployment, platform: GitPlatform
) -> None:
    real = f"{deployment.url}/api/v1/stacks/acme/platform/vpc/state"
    missing = f"{deployment.url}/api/v1/stacks/acme/platform/no-such-stack/state"
    viewer = {"Authorization": f"Bearer {deployment.token('viewer')}"}
    for method in ("GET", "POST", "LOCK", "UNLOCK"):
        for auth, headers in ((None, {}), (("run-1", "guess"), {}), (None, viewer)):
            answers = [
                httpx.request(
                    method, url, content=b'{"ID": "x"}', auth=auth, headers=headers, timeout=30
                )
                for url in (real, missing)
            ]
            assert [a.status_code for a in answers] == [401, 401], (method, auth, headers)
            assert answers[0].json() == answers[1].json()
            assert answers[0].headers["www-authenticate"] == answers[1].headers["www-authenticate"]
            assert "no-such-stack" not in answers[1].text
