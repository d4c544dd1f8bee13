"""Run events reach their subscribers in every process that changes runs, and an event
published where nobody subscribed is a fault, never a silent loss."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _fresh_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "STACKRUN_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "start",
    [
        "from orchestrator.api.app import create_app; create_app()",
        "import workers.celery_app",
    ],
)
def test_the_api_and_the_workers_hear_run_events_once_started(start: str, tmp_path: Path) -> None:
    done = _fresh_python(
        f"{start}\nfrom orchestrator.runs import events\nprint(events.wired())", tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("True")


def test_publishing_before_anyone_subscribed_raises_instead_of_losing_the_event(
    tmp_path: Path,
) -> None:
    done = _fresh_python(
        "from orchestrator.runs import events\n"
        "try:\n"
        "    events.publish(None, events.PipelineChanged(1))\n"
        "except events.NotWired as exc:\n"
        "    print('refused:', exc)\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "refused: PipelineChanged published before" in done.stdout
