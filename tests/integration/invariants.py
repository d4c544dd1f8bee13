"""What every fault scenario checks afterwards (issue 16, docs/RELIABILITY.md): nothing applied
twice (counted outside stackrun), nothing stuck, no state lost, every lock explained."""

from __future__ import annotations

from typing import Any

from tests.integration.harness import TERMINAL, Deployment
from tests.support.apply_counter import ApplyCounter


def settled(deployment: Deployment, count: int, timeout: float = 240) -> list[dict[str, Any]]:
    """At least `count` runs, every one of them terminal."""

    def done() -> list[dict[str, Any]] | None:
        runs = deployment.runs()
        if len(runs) >= count and all(r["state"] in TERMINAL for r in runs):
            return runs
        return None

    return list(deployment.wait(done, f"{count} runs to end", timeout=timeout))


def _applies(deployment: Deployment, runs: list[dict[str, Any]]) -> dict[str, int]:
    """{stack name (its last path part): how many of its runs ever entered APPLYING}."""
    entered: dict[str, int] = {}
    for run in runs:
        history = deployment.run(run["id"])["history"]
        if any(h["to"] == "APPLYING" for h in history):
            name = run["stack"].rsplit("/", 1)[-1]
            entered[name] = entered.get(name, 0) + 1
    return entered


def assert_invariants(deployment: Deployment, counter: ApplyCounter) -> None:
    """Nothing applied twice: each stack's `local-exec` (a mark named after the stack) ran at
    most once per run of it that entered APPLYING, and a counter no run can reach says so.
    Nothing stuck: every run is terminal. No state lost: a managed stack with a finished apply
    has a state. Every lock explained: a stack still locked is held by a FAILED run saying why."""
    runs = deployment.runs()
    assert all(r["state"] in TERMINAL for r in runs), [(r["id"], r["state"]) for r in runs]
    applies = _applies(deployment, runs)
    marks = counter.counts()
    assert all(n <= applies.get(name, 0) for name, n in marks.items()), (marks, applies)
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
