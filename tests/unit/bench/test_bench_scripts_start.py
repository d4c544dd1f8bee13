"""Every script in bench/ starts: its imports resolve against today's tree and it parses its
arguments (`--help`). A bench that rots silently reports nothing when it is needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench"
# imported by the scripts, or started by them as an app or a worker: imported, not run
LIBRARIES = {"common", "baselines", "loadgen", "bare_webhook_app", "celery_echo"}


def test_every_bench_script_starts_and_explains_itself() -> None:
    scripts = sorted(p for p in BENCH.glob("*.py") if p.stem not in LIBRARIES)
    assert len(scripts) >= 10
    started = {
        script.name: subprocess.Popen(
            [sys.executable, str(script), "--help"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for script in scripts
    }
    failures = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=300)
        if process.returncode != 0 or "usage" not in out.lower():
            failures[name] = err.strip().splitlines()[-3:]
    assert failures == {}


def test_the_bench_libraries_import() -> None:
    imports = "; ".join(f"import {name}" for name in sorted(LIBRARIES))
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path[:0] = ['{BENCH}', '{BENCH.parent}']; {imports}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
