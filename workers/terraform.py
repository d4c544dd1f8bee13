"""Terraform as a subprocess: streams its output line by line, secrets only in the environment."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.sandbox import Confinement

log = logging.getLogger(__name__)

_PASSTHROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


class TerraformError(Exception):
    """Terraform exited with an error; the message holds its last error lines."""


@dataclass(frozen=True)
class Completed:
    returncode: int
    last_lines: tuple[str, ...]


def base_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Only what Terraform needs from our environment: never stackrun's own secrets."""
    env = {k: v for k, v in os.environ.items() if k in _PASSTHROUGH}
    env.update(
        {k: v for k, v in os.environ.items() if k.startswith("TF_") and not k.startswith("TF_VAR_")}
    )
    env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
    env.update(extra or {})
    return env


class Terraform:
    def __init__(
        self,
        binary: str,
        workdir: Path,
        env: Mapping[str, str],
        log: Callable[[str], None],
        confinement: Confinement | None = None,
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.env = dict(env)
        self.log = log
        self.confinement = confinement
        self.process: subprocess.Popen[str] | None = None

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        argv = [self.binary, *args]
        return self.confinement.command(argv) if self.confinement else argv

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> Completed:
        """Run `terraform args…`, streaming every line to the log; raise on other exit codes."""
        self.log(f"$ terraform {' '.join(args)}")
        started = time.monotonic()
        last: list[str] = []
        self.process = subprocess.Popen(
            self._argv(args),
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            text = line.rstrip("\n")
            self.log(text)
            if text.strip():
                last = [*last[-19:], text]
        code = self.process.wait()
        self.process = None
        _timed(args[0], code, started)
        if code not in ok_codes:
            raise TerraformError(_error_summary(args[0], code, last))
        return Completed(code, tuple(last))

    def capture_json(self, *args: str) -> Any:
        """Run a command whose stdout is JSON (show -json, output -json) without logging it."""
        started = time.monotonic()
        completed = subprocess.run(
            self._argv(args),
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
            start_new_session=True,
        )
        _timed(args[0], completed.returncode, started)
        if completed.returncode != 0:
            lines = completed.stderr.strip().splitlines()
            raise TerraformError(_error_summary(args[0], completed.returncode, lines))
        return json.loads(completed.stdout)

    def interrupt(self) -> None:
        """SIGINT to terraform's process group, as Ctrl-C in a terminal would send it (a
        sandbox's own processes ignore it, so only terraform and its plugins act on it)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)


def _timed(command: str, code: int, started: float) -> None:
    seconds = time.monotonic() - started
    log.info("terraform command=%s exit=%s seconds=%.3f", command, code, seconds)


def _error_summary(command: str, code: int, lines: list[str] | tuple[str, ...]) -> str:
    errors = [ln.strip() for ln in lines if ln.strip()]
    start = next((i for i, ln in enumerate(errors) if ln.startswith("Error")), None)
    detail = " ".join(errors[start:] if start is not None else errors[-3:])
    return f"terraform {command} exited with {code}: {detail}"[:2000]
