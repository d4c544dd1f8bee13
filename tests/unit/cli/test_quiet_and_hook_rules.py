"""Small rules of the first hour: a hook's input lines, a run's phases, which log lines are
chatter, which Terraform lines are debug output."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import git
import pytest

from orchestrator.runs.phases import phase_seconds
from orchestrator.webhooks.delivery import PushedRef
from orchestrator.webhooks.githook import (
    CONFIG_FILE,
    HookConfig,
    HookError,
    deliver_all,
    install,
    pushed_refs,
)
from workers.quiet import PeriodicChatterToDebug
from workers.terraform import is_debug_line

A, B = "a" * 40, "b" * 40


def test_hook_input_lines_become_pushes_or_reasons_to_skip() -> None:
    lines = [
        f"{A} {B} refs/heads/main\n".encode(),
        f"{A} {B} refs/heads/fête\n".encode(),
        A.encode() + b" " + B.encode() + b" refs/heads/caf\xe9\n",
        b"garbage\n",
        f"{A} not-a-sha refs/heads/x\n".encode(),
    ]
    found = list(pushed_refs(lines))
    assert found[:2] == [PushedRef(A, B, "refs/heads/main"), PushedRef(A, B, "refs/heads/fête")]
    assert "is not UTF-8" in str(found[2])
    assert "malformed" in str(found[3])
    assert "not a pair of 40-hex commit ids" in str(found[4])


def test_approval_wait_is_its_own_phase_apart_from_queue_and_work() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    at = [t0 + timedelta(seconds=s) for s in (2, 5, 105, 106, 110, 111)]
    transitions = [
        ("PREPARING", at[0]),
        ("UNCONFIRMED", at[1]),
        ("CONFIRMED", at[2]),
        ("APPLYING", at[3]),
        ("FINISHED", at[4]),
    ]
    assert phase_seconds(t0, transitions) == {"queue": 3.0, "work": 7.0, "approval": 100.0}


def _record(message: str, args: object, level: int = logging.INFO) -> logging.LogRecord:
    """As `logger.info(message, args)` makes it (a mapping becomes the record's args)."""
    given = args if isinstance(args, tuple) else (args,)
    return logging.LogRecord("celery.app.trace", level, __file__, 1, message, given, None)


def test_periodic_task_chatter_goes_to_debug_and_other_tasks_stay_at_info() -> None:
    logging.getLogger("celery.app.trace").setLevel(logging.INFO)
    chatter = PeriodicChatterToDebug()
    periodic = _record("Task %(name)s[%(id)s] succeeded", {"name": "stackrun.deliver_reports"})
    assert chatter.filter(periodic) is False and periodic.levelname == "DEBUG"
    beat = _record("Scheduler: Sending due task %s (%s)", ("reap", "stackrun.reap"))
    assert chatter.filter(beat) is False
    batch = _record("Task %(name)s[%(id)s] received", {"name": "stackrun.dispatch_drift"})
    assert chatter.filter(batch) is False  # a tick's 45 batches; each says what it created
    real = _record("Task %(name)s[%(id)s] succeeded", {"name": "stackrun.plan_run"})
    assert chatter.filter(real) is True and real.levelno == logging.INFO


def test_terraform_debug_lines_are_recognised_and_provisioner_output_is_not() -> None:
    assert is_debug_line("2026/12/06 07:00:00 [DEBUG] POST http://127.0.0.1:8000/api/v1/state")
    assert is_debug_line("[TRACE] something internal")
    assert not is_debug_line("null_resource.x (local-exec): [DEBUG] printed by the user")
    assert not is_debug_line("Plan: 1 to add, 0 to change, 0 to destroy.")


def _bare(tmp_path: Path) -> Path:
    bare = tmp_path / "repo.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    return bare


def test_the_hook_never_overwrites_a_post_receive_hook_of_someone_else(tmp_path: Path) -> None:
    bare = _bare(tmp_path)
    (bare / "hooks" / "post-receive").write_text("#!/bin/sh\necho theirs\n")
    with pytest.raises(HookError, match="exists and is not stackrun's"):
        install(bare, HookConfig("http://127.0.0.1:1", "acme/x", "file:///x", "secret"))
    with pytest.raises(HookError, match="is not a bare git repository"):
        install(tmp_path, HookConfig("http://127.0.0.1:1", "acme/x", "file:///x", "secret"))


def test_a_hook_whose_stackrun_is_down_says_the_push_is_in_and_what_to_do(tmp_path: Path) -> None:
    bare = _bare(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    hook = install(bare, HookConfig(closed, "acme/x", f"file://{bare}", "s3cret-value"))
    assert oct((bare / CONFIG_FILE).stat().st_mode & 0o777) == "0o600"
    assert hook.stat().st_mode & 0o100

    said = deliver_all(bare, [f"{A} {B} refs/heads/main\n".encode()], "dev")

    assert len(said) == 1 and "stackrun did not answer" in said[0]
    assert "the push itself is in" in said[0] and "s3cret-value" not in said[0]


def test_every_periodic_task_beat_sends_is_quiet() -> None:
    from workers.celery_app import app
    from workers.quiet import PERIODIC_TASKS

    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled <= PERIODIC_TASKS


def test_the_hook_writes_its_secret_never_through_a_planted_link(tmp_path: Path) -> None:
    bare = tmp_path / "repo.git"
    git.Repo.init(bare, bare=True)
    stolen = tmp_path / "stolen.json"
    (bare / CONFIG_FILE).symlink_to(stolen)
    config = HookConfig("http://127.0.0.1:8000", "acme/platform", "file:///x", "s3cr3t")
    with pytest.raises(OSError):
        install(bare, config)
    assert not stolen.exists()
    (bare / CONFIG_FILE).unlink()
    with pytest.raises(HookError, match="control character"):
        install(bare, HookConfig("http://x\nrm -rf /", "acme/platform", "file:///x", "s"))
    install(bare, config)
    assert (bare / CONFIG_FILE).stat().st_mode & 0o777 == 0o600
