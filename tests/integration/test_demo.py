"""`stackrun up --demo` on embedded defaults (SQLite, filesystem broker, a worker and a beat):
the demo platform network → eks → argocd-bootstrap applies on its own after the push, and the
cluster is handed off to Argo CD by one commit to the demo's GitOps repository."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from orchestrator.demo import PLATFORM_BARE, demo_dir, gitops_repository
from tests.integration.harness import (
    TERMINAL,
    Deployment,
    base_env,
    free_port,
    spawn,
    wait_healthy,
)

pytestmark = pytest.mark.integration

STACKS = ("network", "eks", "argocd-bootstrap")
ENDPOINT = "https://demo-eks.example.internal"
CLUSTER_FOLDER = "clusters/demo-eks"
DEMO_AGAIN = """
import json, os, sys
from pathlib import Path
from orchestrator.demo import run_demo
started = run_demo(Path(os.environ["STACKRUN_DATA_DIR"]), sys.argv[1])
print(json.dumps({"pushed": started.push is not None, "head": started.head}))
"""
PRINTED_PIPELINE = re.compile(r"/api/v1/pipelines/(\d+)\s*$", re.MULTILINE)


def _up_demo(data_dir: Path, tf_cli_config: Path) -> Deployment:
    """`stackrun up --demo`, as the README's first command runs it."""
    port = free_port()
    env = base_env(data_dir, port, tf_cli_config)
    env.pop("STACKRUN_ALLOW_LOCAL_REPOSITORIES")  # `up --demo` allows its local repository
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "up.log"
    command = [sys.executable, "-m", "orchestrator.cli", "up", "--demo", "--port", str(port)]
    deployment = Deployment(f"http://127.0.0.1:{port}", env, [spawn(command, env, log)], [log])
    wait_healthy(deployment)
    return deployment


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "stackrun"


@pytest.fixture(scope="module")
def demo(data_dir: Path, tf_cli_config: Path) -> Iterator[Deployment]:
    """One `up --demo` for the module; each test waits for what it needs on its own."""
    deployment = _up_demo(data_dir, tf_cli_config)
    yield deployment
    deployment.stop()


def _printed_pipeline(deployment: Deployment) -> int:
    """The pipeline id in the next steps `up --demo` prints."""

    def printed() -> int | None:
        match = PRINTED_PIPELINE.search(deployment.logs[0].read_text())
        return int(match.group(1)) if match else None

    return int(deployment.wait(printed, "up --demo to print the pipeline's URL", 60))


def _demo_again(deployment: Deployment) -> dict[str, Any]:
    """What `up --demo` does once the services are up, run again on the same data dir."""
    completed = subprocess.run(
        [sys.executable, "-c", DEMO_AGAIN, deployment.url],
        env=deployment.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return dict(json.loads(completed.stdout.splitlines()[-1]))


def _pipeline(deployment: Deployment, pipeline_id: int) -> dict[str, Any]:
    with deployment.client("viewer") as api:
        answer = api.get(f"/api/v1/pipelines/{pipeline_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _settled_runs(deployment: Deployment, pipeline_id: int) -> dict[str, dict[str, Any]]:
    """The pipeline's runs by stack directory, once every one of them is terminal."""

    def settled() -> dict[str, dict[str, Any]] | None:
        runs = _pipeline(deployment, pipeline_id)["runs"]
        if len(runs) < len(STACKS) or any(r["state"] not in TERMINAL for r in runs):
            return None
        return {r["stack"].rsplit("/", 1)[-1]: r for r in runs}

    return dict(deployment.wait(settled, f"the runs of pipeline {pipeline_id} to settle", 90))


def _settled_handoff(deployment: Deployment, pipeline_id: int) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        pipeline = _pipeline(deployment, pipeline_id)
        assert "handoffs" in pipeline, f"GET /api/v1/pipelines has no handoffs: {pipeline}"
        rows = pipeline["handoffs"]
        return dict(rows[-1]) if rows and rows[-1]["status"] != "pending" else None

    return dict(deployment.wait(settled, f"the hand-off of pipeline {pipeline_id}", 60))


def _eks_endpoint(deployment: Deployment) -> str:
    with deployment.client("admin") as api:
        state = api.get("/api/v1/stacks/demo/platform/eks/state")
    assert state.status_code == 200, state.text
    return str(state.json()["outputs"]["cluster_endpoint"]["value"])


def test_up_demo_applies_the_platform_and_commits_the_cluster_to_the_gitops_repository(
    demo: Deployment, data_dir: Path
) -> None:
    gitops_dir = gitops_repository(data_dir)
    pipeline_id = _printed_pipeline(demo)
    printed = demo.logs[0].read_text()
    assert f"git --git-dir {gitops_dir} log --stat" in printed, printed

    runs = _settled_runs(demo, pipeline_id)
    assert {stack: run["state"] for stack, run in runs.items()} == dict.fromkeys(
        STACKS, "FINISHED"
    ), runs
    assert _eks_endpoint(demo) == ENDPOINT

    handoff = _settled_handoff(demo, pipeline_id)
    assert handoff["status"] == "committed", handoff
    log = list(git.Repo(gitops_dir).iter_commits("main"))
    assert len(log) == 2, "the README commit, then exactly one hand-off commit"
    head = log[0]
    assert handoff["gitops_commit"] == head.hexsha
    assert head.author.name == "stackrun"
    added = {d.b_path for d in head.parents[0].diff(head) if d.change_type == "A"}
    assert added == {
        f"{CLUSTER_FOLDER}/cluster-secret.yaml",
        f"{CLUSTER_FOLDER}/root-applicationset.yaml",
    }
    blob = head.tree / f"{CLUSTER_FOLDER}/cluster-secret.yaml"
    secret = yaml.safe_load(blob.data_stream.read().decode())
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
    assert secret["stringData"]["server"] == ENDPOINT


def _user_pushes(data_dir: Path, tmp_path: Path) -> str:
    """What the README says: clone the demo's platform, change it, `git push` (the hook
    delivers the push; nobody sends a webhook by hand)."""
    work = git.Repo.clone_from(str(demo_dir(data_dir) / PLATFORM_BARE), tmp_path / "platform")
    with work.config_writer() as config:
        config.set_value("user", "name", "A User")
        config.set_value("user", "email", "user@example.com")
    notes = tmp_path / "platform" / "network" / "USER.md"
    notes.write_text("my change\n")
    work.git.add(A=True)
    work.git.commit("-m", "my change to the network stack")
    pushed = subprocess.run(
        ["git", "push", "origin", "main"],
        cwd=tmp_path / "platform",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "stackrun accepted the push (202)" in pushed.stderr, pushed.stderr
    return str(work.head.commit.hexsha)


def test_a_user_push_to_the_demo_plans_and_a_second_demo_keeps_it(
    demo: Deployment, data_dir: Path, tmp_path: Path
) -> None:
    first = _printed_pipeline(demo)
    assert _settled_handoff(demo, first)["status"] == "committed"
    user_commit = _user_pushes(data_dir, tmp_path)

    def planned() -> dict[str, Any] | None:
        with demo.client("viewer") as api:
            runs = api.get("/api/v1/runs", params={"stack": "demo/platform/network"}).json()
        mine = [r for r in runs if r["commit"]["sha"] == user_commit]
        return mine[0] if mine and mine[0]["state"] in TERMINAL else None

    assert demo.wait(planned, "the run of the user's push", 90)["state"] == "FINISHED"
    handed_off = [c.hexsha for c in git.Repo(gitops_repository(data_dir)).iter_commits("main")]

    answer = _demo_again(demo)
    assert answer == {"pushed": False, "head": user_commit}
    platform = git.Repo(demo_dir(data_dir) / PLATFORM_BARE)
    assert platform.commit("main").hexsha == user_commit
    assert str(platform.commit("main").message).strip() == "my change to the network stack"
    assert [c.hexsha for c in git.Repo(gitops_repository(data_dir)).iter_commits("main")] == (
        handed_off
    )
