"""The fault suite (issue 16): a fault per test, real processes, PostgreSQL, Redis and
Terraform; afterwards the same invariants — nothing applied twice (counted outside stackrun,
over loopback HTTP), no run left in a non-terminal state, no state version lost, every lock
explained. docs/RELIABILITY.md lists each scenario with its promise and result."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.harness import TERMINAL, Deployment, GitPlatform
from tests.support.counter import HitCounter, hit_counter

pytestmark = pytest.mark.integration

SECRET = "faults-webhook-secret"


@pytest.fixture
def counter() -> Iterator[HitCounter]:
    with hit_counter() as running:
        yield running


def _autodeploy(name: str, body: str) -> dict[str, str]:
    return {f"{name}/stackrun.hcl": "stack {\n  autodeploy = true\n}\n", f"{name}/main.tf": body}


def _counted(counter: HitCounter, name: str, then: str = "true") -> str:
    """A null_resource whose apply hits the counter once, then runs `then`."""
    command = f"{counter.command(name)}; {then}"
    return (
        f'resource "null_resource" "{name}" {{\n'
        f'  provisioner "local-exec" {{\n    command = "{command}"\n  }}\n}}\n'
    )


def _settled(deployment: Deployment, count: int) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        runs = deployment.runs()
        if len(runs) >= count and all(r["state"] in TERMINAL for r in runs):
            return runs
        return None

    return list(deployment.wait(done, f"{count} runs to end", timeout=240))


def assert_invariants(deployment: Deployment, counter: HitCounter) -> None:
    """Nothing applied twice, nothing stuck, no state lost, every lock explained."""
    runs = deployment.runs()
    assert all(r["state"] in TERMINAL for r in runs), [(r["id"], r["state"]) for r in runs]
    assert all(n <= 1 for n in counter.hits.values()), dict(counter.hits)
    applied = {
        r["stack"]
        for r in runs
        if r["state"] == "FINISHED"
        and any(h["to"] == "APPLYING" for h in deployment.run(r["id"])["history"])
    }
    with deployment.client() as api:
        for stack in api.get("/api/v1/stacks").json():
            if stack["id"] in applied and stack["managed_state"]:
                state = api.get(f"/api/v1/stacks/{stack['id']}/state")
                assert state.status_code == 200, f"{stack['id']} applied but has no state"
            holder = stack["locked_by_run"]
            if holder is not None:
                run = deployment.run(holder)
                assert run["state"] == "FAILED" and run["failure_reason"], (stack["id"], run)


def test_output_that_is_not_utf8_never_loses_the_state_of_the_apply(
    services: Deployment, platform: GitPlatform, counter: HitCounter
) -> None:
    services.register(platform, SECRET)
    noisy = _counted(counter, "noisy", then="printf 'bytes \\\\377\\\\376 here'; sleep 3")
    before, after = platform.commit(_autodeploy("noisy", noisy))
    assert services.webhook(platform.push_body(before, after), SECRET).status_code == 202
    (run,) = _settled(services, 1)
    assert run["state"] == "FINISHED", run["failure_reason"]
    assert "bytes \ufffd\ufffd here" in services.logs_of(run["id"])
    with services.client() as api:
        state = api.get("/api/v1/stacks/acme/platform/noisy/state")
    assert state.status_code == 200
    assert [r["type"] for r in state.json()["resources"]] == ["null_resource"]
    assert counter.count("noisy") == 1
    assert_invariants(services, counter)


def test_a_binary_tf_file_fails_its_stack_with_a_clear_reason_and_others_apply(
    services: Deployment, platform: GitPlatform, counter: HitCounter
) -> None:
    services.register(platform, SECRET)
    files = {**_autodeploy("good", _counted(counter, "good"))}
    files["bad/stackrun.hcl"] = "stack {\n  autodeploy = true\n}\n"
    platform.commit(files)
    (platform.work / "bad" / "main.tf").write_bytes(b'output "x" {\n  value = "\xff\xfe"\n}\n')
    platform.repo.git.add(A=True)
    platform.repo.index.commit("a binary file")
    platform.repo.git.push("origin", "main")
    after = platform.repo.head.commit.hexsha
    assert services.webhook(platform.push_body("0" * 40, after), SECRET).status_code == 202
    runs = {r["stack"]: r for r in _settled(services, 2)}
    assert runs["acme/platform/good"]["state"] == "FINISHED"
    bad = runs["acme/platform/bad"]
    assert bad["state"] == "FAILED"
    assert "codec can't decode" not in bad["failure_reason"]
    assert "main.tf" in bad["failure_reason"], bad["failure_reason"]
    assert_invariants(services, counter)
