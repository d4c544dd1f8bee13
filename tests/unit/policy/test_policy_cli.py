"""`stackrun policy eval`: a policy unit-tested offline, with exit codes a CI can use."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from orchestrator.cli import app

NO_DELETE = """package spacelift

deny[sprintf("may not delete %s", [change.entity.address])] {
  change := input.spacelift.run.changes[_]
  change.action == "deleted"
}
"""


def _plan(tmp_path: Path, actions: list[str]) -> Path:
    plan = {
        "format_version": "1.0",
        "resource_changes": [
            {
                "address": "null_resource.x",
                "type": "null_resource",
                "name": "x",
                "mode": "managed",
                "change": {"actions": actions},
            }
        ],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def _policy(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "no-delete.rego"
    path.write_text(body)
    return path


def test_a_denied_plan_exits_1_with_the_messages_as_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "policy",
            "eval",
            str(_policy(tmp_path, NO_DELETE)),
            "--input",
            str(_plan(tmp_path, ["delete"])),
        ],
    )
    assert result.exit_code == 1, result.output
    decision = json.loads(result.stdout)
    assert decision["decision"] == "deny"
    assert decision["rules"]["deny"] == ["may not delete null_resource.x"]


def test_an_allowed_plan_exits_0(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "policy",
            "eval",
            str(_policy(tmp_path, NO_DELETE)),
            "--input",
            str(_plan(tmp_path, ["create"])),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decision"] == "allow"


def test_a_policy_that_does_not_compile_exits_2_with_the_engine_message(tmp_path: Path) -> None:
    broken = _policy(tmp_path, "package x\n\ndeny[m] { m := }\n")
    result = CliRunner().invoke(
        app, ["policy", "eval", str(broken), "--input", str(_plan(tmp_path, ["create"]))]
    )
    assert result.exit_code == 2
    assert "no-delete:3: Invalid assignment operator" in result.output
    assert "Traceback" not in result.output


def test_an_unreadable_input_exits_2_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(
        app, ["policy", "eval", str(_policy(tmp_path, NO_DELETE)), "--input", str(bad)]
    )
    assert result.exit_code == 2
    assert "error: reading" in result.output and "Traceback" not in result.output
