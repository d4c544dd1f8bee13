"""The first hour of a user, against one running stackrun (API + a real worker, PostgreSQL,
Redis, real Terraform): a bare repository wired with `stackrun hooks install` plans on
`git push` (no hand-made webhook), and each CLI verb does what it says, with tables and
errors a person can act on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.harness import TERMINAL, Deployment, GitPlatform

pytestmark = pytest.mark.integration

SECRET = "first-hour-secret"
MANUAL = "stack {\n}\n"
AUTO = "stack {\n  autodeploy = true\n}\n"
RESOURCE = 'resource "null_resource" "r" {\n  triggers = { v = "1" }\n}\n'
TICKS = (
    'resource "null_resource" "ticks" {\n  provisioner "local-exec" {\n'
    '    command = "for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done"\n  }\n}\n'
)
BROKEN = 'resource "null_resource" "r" {\n  triggers = { v = var.undeclared }\n}\n'
AFTER_HCL = (
    'stack {\n  autodeploy = true\n  input "y" {\n    stack  = "../broken"\n'
    '    output = "y"\n  }\n}\n'
)
AFTER_TF = 'variable "y" {\n  type = string\n}\n' + RESOURCE
FILES = {
    "app/stackrun.hcl": MANUAL,
    "app/main.tf": RESOURCE,
    "printer/stackrun.hcl": AUTO,
    "printer/main.tf": TICKS,
    "broken/stackrun.hcl": AUTO,
    "broken/main.tf": BROKEN,
    "after/stackrun.hcl": AFTER_HCL,
    "after/main.tf": AFTER_TF,
}


@pytest.fixture(scope="module")
def stackrun(shared_services: Deployment) -> Deployment:
    return shared_services


def _cli(
    stackrun: Deployment, *args: str, role: str = "admin", stdin: str | None = None, **env: str
) -> Any:
    """`stackrun ARGS` as a user types it (URL and token from the environment)."""
    full = {
        **stackrun.env,
        "STACKRUN_URL": stackrun.url,
        "STACKRUN_TOKEN": stackrun.token(role) if role in ("admin", "viewer") else role,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        env=full,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _ok(stackrun: Deployment, *args: str, **env: str) -> str:
    done = _cli(stackrun, *args, **env)
    assert done.returncode == 0, f"stackrun {' '.join(args)}: {done.stderr}"
    return str(done.stdout)


def _git_push(platform: GitPlatform, files: dict[str, str], *refspec: str) -> tuple[str, str]:
    """Commit `files` in the clone and `git push` as a user does; (commit, git's output)."""
    for path, text in files.items():
        target = platform.work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    platform.repo.git.add(A=True)
    platform.repo.index.commit("a change")
    pushed = subprocess.run(
        ["git", "push", "origin", *(refspec or ("main",))],
        cwd=platform.work,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return str(platform.repo.head.commit.hexsha), pushed.stderr


def _install_hook(stackrun: Deployment, platform: GitPlatform, secret: str) -> str:
    return _ok(
        stackrun,
        "hooks",
        "install",
        str(platform.bare),
        "--repository",
        platform.name,
        STACKRUN_WEBHOOK_SECRET=secret,
    )


@pytest.fixture(scope="module")
def pushed(
    stackrun: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A repository wired with the hook, and one `git push` of four stacks; their runs."""
    platform = GitPlatform(tmp_path_factory.mktemp("hooked"))
    repository = stackrun.register(platform, SECRET)
    assert "installed" in _install_hook(stackrun, platform, SECRET)
    sha, said = _git_push(platform, FILES)

    def runs() -> dict[str, dict[str, Any]] | None:
        found = {
            r["stack"].rsplit("/", 1)[-1]: r for r in stackrun.runs() if r["commit"]["sha"] == sha
        }
        return found if len(found) == len(FILES) // 2 else None

    by_stack = stackrun.wait(runs, "the runs of the pushed commit")
    yield {
        "platform": platform,
        "repository": repository,
        "sha": sha,
        "said": said,
        "runs": by_stack,
    }


def test_a_git_push_to_a_bare_repository_with_the_hook_installed_plans(
    stackrun: Deployment, pushed: dict[str, Any]
) -> None:
    assert "stackrun accepted the push (202)" in pushed["said"], pushed["said"]
    app = stackrun.wait_run_state(pushed["runs"]["app"]["id"], {"UNCONFIRMED"})
    assert app["plan_summary"]["add"] == 1


def test_runs_logs_follow_prints_lines_while_the_run_is_still_applying(
    stackrun: Deployment, pushed: dict[str, Any]
) -> None:
    run_id = pushed["runs"]["printer"]["id"]
    follower = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "runs", "logs", str(run_id), "--follow"],
        env={
            **stackrun.env,
            "STACKRUN_URL": stackrun.url,
            "STACKRUN_TOKEN": stackrun.token("admin"),
        },
        stdout=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    state_at_first_tick = None
    for line in follower.stdout:
        if "tick-1" in line:
            state_at_first_tick = stackrun.run(run_id)["state"]
            break
    rest = follower.stdout.read()
    assert follower.wait(timeout=120) == 0
    assert state_at_first_tick is not None and state_at_first_tick not in TERMINAL
    assert "tick-6" in rest
    assert rest.rstrip().endswith(f"run {run_id} ended FINISHED")


def test_runs_logs_of_a_skipped_run_says_why_and_retry_starts_a_new_run(
    stackrun: Deployment, pushed: dict[str, Any]
) -> None:
    broken = stackrun.wait_run_state(pushed["runs"]["broken"]["id"], {"FAILED"})
    after = pushed["runs"]["after"]["id"]
    stackrun.wait_run_state(after, {"SKIPPED"})
    said = _ok(stackrun, "runs", "logs", str(after))
    assert f"run {after} ended SKIPPED without running Terraform" in said
    assert f"run {broken['id']}" in said, said

    retried = _ok(stackrun, "runs", "retry", str(broken["id"]))
    assert f"run {broken['id']}: retry accepted as run" in retried


def test_unlock_discard_and_refusals_name_the_run_and_the_reason(
    stackrun: Deployment, pushed: dict[str, Any]
) -> None:
    app = stackrun.wait_run_state(pushed["runs"]["app"]["id"], {"UNCONFIRMED"})
    refused = _cli(stackrun, "stacks", "unlock", app["stack"])
    assert refused.returncode == 1
    assert f"unlocking stack {app['stack']}: 409" in refused.stderr
    assert f"locked by run {app['id']}" in refused.stderr

    assert "DISCARDED" in _ok(stackrun, "runs", "discard", str(app["id"]), "--comment", "no")
    assert f"stack {app['stack']} unlocked" in _ok(stackrun, "stacks", "unlock", app["stack"])
    for verb in ("cancel", "stop"):
        done = _cli(stackrun, "runs", verb, str(app["id"]))
        assert done.returncode == 1
        assert f"error: {verb} run {app['id']}: 409" in done.stderr, done.stderr

    started = _ok(stackrun, "stacks", "run", app["stack"])
    assert f"of {app['stack']} at {pushed['sha'][:12]}: QUEUED" in started


def test_lists_print_tables_with_headers_or_json(
    stackrun: Deployment, pushed: dict[str, Any]
) -> None:
    for args, header in (
        (("runs", "list"), "ID"),
        (("stacks", "list"), "ID"),
        (("repos", "list"), "ID"),
        (("pipelines", "list"), "ID"),
        (("audit",), "ID"),
        (("tokens", "list"), "NAME"),
    ):
        table = _ok(stackrun, *args).splitlines()
        assert table[0].split()[0] == header, (args, table[:2])
        assert len(table) >= 2, args
        assert isinstance(json.loads(_ok(stackrun, *args, "--json")), list), args
    runs = _ok(stackrun, "runs", "list").splitlines()
    assert runs[0].split()[:4] == ["ID", "STATE", "KIND", "STACK"]
    pipeline = pushed["runs"]["app"]["pipeline"]
    shown = json.loads(_ok(stackrun, "pipelines", "show", str(pipeline)))
    assert {r["id"] for r in shown["runs"]} >= {r["id"] for r in pushed["runs"].values()}


def test_tokens_revoke_ends_a_token_and_the_audit_trail_shows_it(stackrun: Deployment) -> None:
    doomed = stackrun.cli("tokens", "create", "--name", "doomed", "--role", "viewer")
    token = doomed.stdout.strip().splitlines()[-1]
    assert "token doomed revoked" in _ok(stackrun, "tokens", "revoke", "doomed")
    listed = json.loads(_ok(stackrun, "tokens", "list", "--json"))
    assert next(t for t in listed if t["name"] == "doomed")["revoked_at"] is not None
    refused = _cli(stackrun, "runs", "list", role=token)
    assert refused.returncode == 1
    assert "listing runs: 401" in refused.stderr and "STACKRUN_TOKEN" in refused.stderr
    audit = _ok(stackrun, "audit", "--action", "token.")
    assert "token.revoke" in audit and "token:doomed" in audit


def test_repos_sync_discovers_stacks_without_running_anything(
    stackrun: Deployment, tmp_path: Path
) -> None:
    quiet = GitPlatform(tmp_path / "quiet", name="acme/quiet")
    quiet.commit({"net/stackrun.hcl": AUTO, "net/main.tf": RESOURCE})
    repository = stackrun.register(quiet, SECRET)
    said = _ok(stackrun, "repos", "sync", str(repository["id"]))
    assert "acme/quiet at" in said and "acme/quiet/net" in said and "new" in said
    stacks = json.loads(_ok(stackrun, "stacks", "list", "--json"))
    assert "acme/quiet/net" in {s["id"] for s in stacks}
    assert stackrun.runs(stack="acme/quiet/net") == []
    set_before_any_run = _cli(stackrun, "vars", "set", "acme/quiet/net", "REGION", stdin="eu-1")
    assert set_before_any_run.returncode == 0, set_before_any_run.stderr
    variables = _ok(stackrun, "vars", "list", "acme/quiet/net").splitlines()
    assert variables[0].split() == ["KIND", "NAME", "VALUE"]
    assert variables[1].split() == ["env", "REGION", "eu-1"]
    again = json.loads(_ok(stackrun, "repos", "sync", str(repository["id"]), "--json"))
    assert again["added"] == [] and again["stacks"] == ["acme/quiet/net"]


def test_a_rotated_secret_refuses_the_old_signature_and_the_hook_says_so(
    stackrun: Deployment, tmp_path: Path
) -> None:
    rotating = GitPlatform(tmp_path / "rotating", name="acme/rotating")
    repository = stackrun.register(rotating, SECRET)
    _install_hook(stackrun, rotating, SECRET)
    printed = _ok(stackrun, "repos", "secret", str(repository["id"]), "--rotate")
    new_secret = printed.strip()
    assert new_secret and new_secret != SECRET

    before, after = rotating.commit({"a/stackrun.hcl": MANUAL, "a/main.tf": RESOURCE})
    body = rotating.push_body(before, after)
    assert stackrun.webhook(body, SECRET).status_code == 401
    assert stackrun.webhook(body, new_secret).status_code == 202
    _, said = _git_push(rotating, {"a/notes.md": "x\n"})
    assert "refused (401, bad signature)" in said, said
    audit = json.loads(_ok(stackrun, "audit", "--json", "--target", "repository:acme/rotating"))
    assert "repository.rotate_webhook_secret" in {a["action"] for a in audit}


def test_odd_ref_names_are_delivered_or_skipped_without_failing_the_push(
    stackrun: Deployment, pushed: dict[str, Any]
) -> None:
    platform: GitPlatform = pushed["platform"]
    _, said = _git_push(platform, {"app/notes.md": "n\n"}, "HEAD:refs/heads/fête")
    assert "refs/heads/fête" in said and "accepted the push (202)" in said, said
    odd = subprocess.run(
        ["git", "push", "origin", b"HEAD:refs/heads/caf\xe9"],
        cwd=platform.work,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert b"its name is not UTF-8" in odd.stderr, odd.stderr
    tag = subprocess.run(
        ["git", "push", "origin", "HEAD:refs/tags/v1"],
        cwd=platform.work,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "starts no work for it (ref refs/tags/v1 is not a branch)" in tag.stderr, tag.stderr
    assert _cli(stackrun, "runs", "list").returncode == 0


def test_metrics_split_run_time_by_phase_and_count_deliveries_and_policies(
    stackrun: Deployment, pushed: dict[str, Any]
) -> None:
    stackrun.wait_run_state(pushed["runs"]["printer"]["id"], {"FINISHED"})
    metrics = httpx.get(f"{stackrun.url}/metrics", timeout=30).text
    for phase in ("queue", "approval", "work"):
        assert f'stackrun_run_phase_seconds_count{{phase="{phase}"}}' in metrics, phase
    assert "stackrun_run_duration_seconds" not in metrics
    accepted = re.search(
        r'stackrun_webhook_deliveries_total\{outcome="accepted",provider="github"\} (\d+)',
        metrics,
    )
    assert accepted is not None and float(accepted.group(1)) >= 1, metrics
    assert "stackrun_policy_evaluations_total" in metrics
    assert "# TYPE stackrun_handoff_attempts gauge" in metrics


def test_a_token_cannot_revoke_itself(stackrun: Deployment) -> None:
    admin = next(
        t
        for t in json.loads(_ok(stackrun, "tokens", "list", "--json"))
        if t["role"] == "admin" and t["revoked_at"] is None
    )
    refused = _cli(stackrun, "tokens", "revoke", admin["name"])
    assert refused.returncode == 1
    assert "it is the token making this request" in refused.stderr
