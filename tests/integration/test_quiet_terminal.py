"""A quiet terminal: installing stackrun prints no warning about our own packaging metadata,
and a worker and beat left idle write nothing at INFO while the periodic tasks keep running."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import start_services, task_totals

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
IDLE_SECONDS = 30
INFO_LINE = re.compile(r"^\[[^]]*: INFO/", re.MULTILINE)
PERIODIC = ("stackrun.deliver_reports", "stackrun.deliver_notifications", "stackrun.reap")


def test_building_the_package_metadata_prints_no_build_backend_warning() -> None:
    """What `scripts/setup`'s `pip install -e .` builds, verbosely, without installing."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--dry-run", "-v", "-e", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output[-3000:]
    assert "Would install stackrun" in output, output[-3000:]
    assert "BuildBackendWarning" not in output
    assert "SetuptoolsDeprecationWarning" not in output


def _ready(logs: list[Path]) -> bool:
    text = "\n".join(p.read_text() for p in logs if p.exists())
    return " ready." in text and "beat: Starting..." in text


def test_an_idle_worker_and_beat_write_no_info_line_while_periodic_tasks_run(
    tmp_path: Path, tf_cli_config: Path
) -> None:
    often = {
        "STACKRUN_REPORT_SECONDS": "1",
        "STACKRUN_NOTIFY_SECONDS": "1",
        "STACKRUN_REAP_SECONDS": "1",
        "STACKRUN_LOG_LEVEL": "INFO",
    }
    with fresh_postgres_database() as url:
        deployment = start_services(
            tmp_path / "stackrun", tf_cli_config, url, flushed_redis(), beat=True, extra_env=often
        )
        try:
            workers = [p for p in deployment.logs if p.name != "api.log"]
            deployment.wait(lambda: _ready(workers), "the worker and beat to start", 60)
            before = task_totals(deployment.env)
            offsets = {p: p.stat().st_size for p in workers}
            time.sleep(IDLE_SECONDS)
            idle = {p.name: p.read_bytes()[offsets[p] :].decode() for p in workers}
            after = task_totals(deployment.env)
        finally:
            deployment.stop()
    for name, text in idle.items():
        assert not INFO_LINE.findall(text), f"{name} wrote at INFO while idle:\n{text[:3000]}"
    for task in PERIODIC:
        assert after.get(task, 0) - before.get(task, 0) >= IDLE_SECONDS // 3, (task, after)
