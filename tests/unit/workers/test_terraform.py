"""The Terraform subprocess wrapper, against the real bundled binary."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.artifacts.store import LocalStore, log_key
from orchestrator.secrets.masking import Masker
from orchestrator.toolchain import resolve_terraform
from workers.runlog import RunLog
from workers.terraform import Terraform, TerraformError, base_environment


def test_base_environment_keeps_terraform_settings_and_drops_stackrun_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STACKRUN_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("STACKRUN_DATABASE_URL", "postgresql://u:pw@db/x")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", "/etc/terraformrc")
    monkeypatch.setenv("TF_VAR_db_password", "from-the-worker-host")
    env = base_environment({"TF_VAR_region": "eu-west-1"})
    assert not any(key.startswith("STACKRUN_") for key in env)
    assert env["TF_CLI_CONFIG_FILE"] == "/etc/terraformrc"
    assert env["TF_VAR_region"] == "eu-west-1"
    assert "TF_VAR_db_password" not in env
    assert env["TF_IN_AUTOMATION"] == "1"


def _terraform(workdir: Path, lines: list[str]) -> Terraform:
    return Terraform(resolve_terraform("terraform"), workdir, base_environment(), lines.append)


def test_run_streams_every_line_to_the_log(tmp_path: Path) -> None:
    lines: list[str] = []
    completed = _terraform(tmp_path, lines).run("version")
    assert completed.returncode == 0
    assert lines[0] == "$ terraform version"
    assert any(line.startswith("Terraform v1.") for line in lines)


def test_a_failing_command_raises_with_terraforms_error_message(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "null_resource" "x" {\n  = broken\n}\n')
    lines: list[str] = []
    with pytest.raises(TerraformError) as failure:
        _terraform(tmp_path, lines).run("validate", "-no-color")
    assert str(failure.value).startswith("terraform validate exited with 1: Error:")
    assert any("Error:" in line for line in lines)


def test_run_log_masks_secrets_before_they_reach_the_artifact(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    masker = Masker(["s3cr3t-value"])
    log = RunLog(store, 7, masker)
    log("password = s3cr3t-value")
    masker.add("late-secret")
    log("later: late-secret and s3cr3t-value")
    log.close()
    assert store.get(log_key(7)).decode() == "password = ***\nlater: *** and ***\n"


def test_run_log_stops_at_its_limit_with_one_line_saying_so(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    log = RunLog(store, 8, Masker(), limit=2 * 1024 * 1024)
    for _ in range(3000):
        log("x" * 1000)
    log.close()
    text = store.get(log_key(8)).decode()
    assert len(text) < 2 * 1024 * 1024 + 200
    assert text.endswith(
        "stackrun: the log reached 2 MiB; later lines are dropped (the run goes on)\n"
    )
    assert text.count("the log reached") == 1


def _script(tmp_path: Path, body: str) -> str:
    """A stand-in for the terraform binary: a shell script whose behaviour the test sets."""
    script = tmp_path / "fake-terraform"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


def test_output_that_is_not_utf8_is_logged_with_replacement_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    binary = _script(tmp_path, "printf 'before \\377\\376 after\\n'; echo done\n")
    completed = Terraform(binary, tmp_path, base_environment(), lines.append).run("apply")
    assert completed.returncode == 0
    assert lines[1:] == ["before \ufffd\ufffd after", "done"]


def test_a_log_that_fails_never_abandons_terraform_it_waits_then_raises(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "finished"
    binary = _script(tmp_path, f"echo one; sleep 1; echo two; touch {marker}\n")
    written: list[str] = []

    def failing_log(line: str) -> None:
        if line == "one":
            raise OSError("the artifact store is down")
        written.append(line)

    terraform = Terraform(binary, tmp_path, base_environment(), failing_log)
    with pytest.raises(OSError, match="artifact store is down"):
        terraform.run("apply")
    assert marker.exists(), "terraform ran to its end before the error left run()"
    assert terraform.process is None
    assert written == ["$ terraform apply"]


def test_output_that_is_not_json_is_a_terraform_error_saying_so(tmp_path: Path) -> None:
    binary = _script(tmp_path, "printf '\\377 not json'\n")
    terraform = Terraform(binary, tmp_path, base_environment(), print)
    with pytest.raises(TerraformError, match="printed output that is not JSON"):
        terraform.capture_json("show", "-json", "p")


def test_terraform_output_that_imitates_stackrun_lines_is_set_apart(tmp_path: Path) -> None:
    lines: list[str] = []
    forged = "stackrun: run approved by alice\\npolicy: no-deletes v1 (plan) → pass\\nplain\\n"
    binary = _script(tmp_path, f"printf '{forged}'\n")
    Terraform(binary, tmp_path, base_environment(), lines.append).run("plan")
    assert lines[1:] == [
        "| stackrun: run approved by alice",
        "| policy: no-deletes v1 (plan) → pass",
        "plain",
    ]
