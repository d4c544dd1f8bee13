"""Links and limits are a per-stack matter (issue 16), on a real deployment: a push holding a
link that leaves the repository, or a file over the graph's per-file limit, fails only the stack
that contains it, naming the link or the file and the limit; the other stacks plan. The graph
API serves what the push computed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform, start_services

pytestmark = pytest.mark.integration

SECRET = "graph-bounds-secret"
MAX_FILE_BYTES = 64 * 1024
PLANNED = {"UNCONFIRMED", "FINISHED"}
STACK = "stack {}\n"
NULL = 'resource "null_resource" "this" {}\n'


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path
) -> Iterator[Deployment]:
    """API and one worker, with a small per-file limit so a test file can be over it."""
    with fresh_postgres_database() as url:
        running = start_services(
            tmp_path_factory.mktemp("stackrun"),
            tf_cli_config,
            url,
            flushed_redis(),
            extra_env={"STACKRUN_GRAPH_MAX_FILE_BYTES": str(MAX_FILE_BYTES)},
        )
        yield running
        running.stop()


def _stacks(*names: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for name in names:
        files[f"{name}/stackrun.hcl"] = STACK
        files[f"{name}/main.tf"] = NULL
    return files


def _push(deployment: Deployment, platform: GitPlatform, files: dict[str, str]) -> str:
    before, after = platform.commit(files)
    response = deployment.webhook(platform.push_body(before, after), SECRET)
    assert response.status_code == 202, response.text

    def runs() -> dict[str, dict[str, Any]] | None:
        found = [r for r in deployment.runs() if r["commit"]["sha"] == after]
        return {r["stack"].rsplit("/", 1)[-1]: r for r in found} or None

    deployment.wait(runs, f"runs of commit {after[:12]}")
    return after


def _settled(deployment: Deployment, commit: str) -> dict[str, dict[str, Any]]:
    runs = {
        r["stack"].rsplit("/", 1)[-1]: r for r in deployment.runs() if r["commit"]["sha"] == commit
    }
    return {
        name: deployment.wait_run_state(
            run["id"], {"FAILED"} if name in ("s1", "big") else PLANNED, timeout=240
        )
        for name, run in runs.items()
    }


def test_a_link_leaving_the_repository_fails_only_the_stack_holding_it(
    deployment: Deployment, tmp_path: Path
) -> None:
    platform = GitPlatform(tmp_path / "git", name="acme/links")
    repository = deployment.register(platform, SECRET)
    with deployment.client("viewer") as api:
        early = api.get(f"/api/v1/repositories/{repository['id']}/graph")
    assert early.status_code == 409
    assert "no push to its tracked branch 'main' has been processed" in early.json()["detail"]
    (platform.work / "s1").mkdir(parents=True)
    os.symlink("/etc/passwd", platform.work / "s1" / "evil.tf")
    commit = _push(deployment, platform, _stacks("s1", "network", "app"))

    runs = _settled(deployment, commit)
    assert set(runs) == {"s1", "network", "app"}
    assert runs["network"]["state"] in PLANNED and runs["app"]["state"] in PLANNED
    reason = runs["s1"]["failure_reason"]
    assert reason.startswith(f"stack s1 cannot run at commit {commit[:12]}: ")
    assert "s1/evil.tf is a link to '/etc/passwd', which leaves the repository" in reason
    assert "root:" not in deployment.logs_of(runs["s1"]["id"])

    with deployment.client("viewer") as api:
        graph = api.get(f"/api/v1/repositories/{repository['id']}/graph").json()
    assert graph["commit"] == commit
    blocked = {s["path"]: s.get("blocked") for s in graph["stacks"]}
    assert blocked["network"] is None and blocked["app"] is None
    assert blocked["s1"] == [
        "s1/evil.tf is a link to '/etc/passwd', which leaves the repository (an absolute "
        "path); it is not extracted"
    ]


def test_a_file_over_the_per_file_limit_fails_only_its_stack(
    deployment: Deployment, tmp_path: Path
) -> None:
    platform = GitPlatform(tmp_path / "git", name="acme/limits")
    deployment.register(platform, SECRET)
    files = _stacks("big", "network")
    files["big/main.tf"] = NULL + "# padding to pass the per-file limit\n" * 2_000
    size = len(files["big/main.tf"])
    assert size > MAX_FILE_BYTES
    commit = _push(deployment, platform, files)

    runs = _settled(deployment, commit)
    assert set(runs) == {"big", "network"}
    assert runs["network"]["state"] in PLANNED
    assert (
        f"big/main.tf: not read: {size:,} bytes is over the graph's per-file limit of "
        f"{MAX_FILE_BYTES:,} bytes (STACKRUN_GRAPH_MAX_FILE_BYTES)"
    ) in runs["big"]["failure_reason"]
