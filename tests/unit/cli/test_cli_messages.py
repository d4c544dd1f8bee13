"""The CLI's own behaviour without a server: ids that are not numbers, a server that is not
there, `runs logs` of a run that ended before it ran or vanished while followed, and tables."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.cli.common import table
from orchestrator.cli.follow import follow_log, why_no_log


def test_a_run_id_that_is_not_a_number_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["runs", "logs", "abc", "--token", "t"])
    assert result.exit_code == 1
    assert "a run id must be a positive number, not 'abc'" in result.output
    assert "stackrun runs list" in result.output


def free_port_for_tests() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_server_names_the_url_and_how_to_start_one() -> None:
    url = f"http://127.0.0.1:{free_port_for_tests()}"
    result = CliRunner().invoke(app, ["runs", "list", "--url", url, "--token", "t"])
    assert result.exit_code == 1
    assert f"listing runs: no stackrun at {url} (connection refused)" in result.output
    assert "start one with `stackrun up`" in result.output


def test_every_command_and_option_has_help_text() -> None:
    command = typer.main.get_command(app)
    missing: list[str] = []

    def visit(cmd: Any, path: str) -> None:
        if not (cmd.help or cmd.short_help) and path:
            missing.append(path)
        for param in cmd.params:
            if param.name not in ("help",) and not getattr(param, "help", None):
                if getattr(param, "hidden", False):
                    continue
                missing.append(f"{path} {param.name}")
        for name, sub in getattr(cmd, "commands", {}).items():
            visit(sub, f"{path} {name}".strip())

    visit(command, "")
    assert missing == []


def test_a_table_has_a_header_and_aligned_columns(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"id": 1, "name": "a"}, {"id": 22, "name": None}]
    table(rows, [("ID", lambda r: r["id"]), ("NAME", lambda r: r["name"])], "none")
    assert capsys.readouterr().out.splitlines() == ["ID  NAME", "1   a", "22  -"]


class _Gone:
    """A client whose run exists on the first read and is deleted afterwards."""

    def __init__(self) -> None:
        self.reads = 0

    def find(self, path: str, doing: str) -> dict[str, Any] | None:
        self.reads += 1
        return {"id": 7, "state": "PLANNING", "history": []} if self.reads == 1 else None

    def call(self, method: str, path: str, doing: str = "") -> str:
        return "line one\n"


def test_following_a_run_that_is_deleted_ends_with_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orchestrator.cli.follow.POLL_SECONDS", 0)
    with pytest.raises(typer.Exit):
        follow_log(_Gone(), 7, follow=True)  # type: ignore[arg-type]
    captured = capsys.readouterr()
    assert captured.out == "line one\n"
    assert "run 7: the run no longer exists (deleted while following)" in captured.err


def test_a_skipped_run_without_a_log_says_why() -> None:
    run = {
        "id": 9,
        "state": "SKIPPED",
        "failure_reason": None,
        "history": [{"reason": ""}, {"reason": "upstream run 8 ended FAILED"}],
    }
    assert why_no_log(run) == (
        "run 9 ended SKIPPED without running Terraform: upstream run 8 ended FAILED"
    )
