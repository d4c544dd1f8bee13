"""The child process a policy evaluation runs in: `python -m orchestrator.policy.engine`, with
only what Python needs in its environment, stopped at its deadline or when its memory grows
past MEMORY_LIMIT_BYTES. Knows nothing of Rego: bytes in, bytes (or why there are none) out."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEMORY_LIMIT_BYTES = 1024**3
WATCH_SECONDS = 0.05


def run(request: bytes, timeout: float) -> bytes | str:
    """The child's answer, or why there is none. Its memory is watched from here: rego-cpp's
    allocator reserves far more address space than it uses, so an rlimit cannot bound it.
    Request and answer go through temporary files, so no pipe can fill up while we watch."""
    with (
        tempfile.TemporaryFile() as given,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        given.write(request)
        given.seek(0)
        child = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.policy.engine"],
            stdin=given,
            stdout=out,
            stderr=err,
            env=_child_environment(),
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                child.wait(timeout=WATCH_SECONDS)
                break
            except subprocess.TimeoutExpired:
                why = _over_limits(child.pid, deadline, timeout)
            if why is not None:
                child.kill()
                child.wait()
                return why
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            detail = err.read().decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            return f"the policy engine exited with {child.returncode}: {detail[0][:300]}"
        return out.read()


def _over_limits(pid: int, deadline: float, timeout: float) -> str | None:
    if time.monotonic() > deadline:
        return f"evaluation did not finish within {timeout:g}s"
    if _resident_bytes(pid) > MEMORY_LIMIT_BYTES:
        return f"evaluation used more than {MEMORY_LIMIT_BYTES // 1024**2} MiB of memory"
    return None


def _resident_bytes(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


def _child_environment() -> dict[str, str]:
    """Only what Python needs to start: a policy can read its environment
    (`opa.runtime().env`), and the worker's holds credentials."""
    env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    if "PATH" in os.environ:
        env["PATH"] = os.environ["PATH"]
    return env
