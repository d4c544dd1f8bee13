"""Terraform as a subprocess: streams its output line by line, secrets only in the environment."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
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


# Terraform's own log level stays off in runs (TF_LOG would put its debug lines in the run log).
_NEVER_PASSED = frozenset({"TF_LOG", "TF_LOG_CORE", "TF_LOG_PROVIDER", "TF_LOG_PATH"})
# Go log lines of Terraform's internals, printed whatever TF_LOG says (the http backend's
# retrying client: "2026/01/02 03:04:05 [DEBUG] POST http://…/state"); not a run's output.
_DEBUG_LINE = re.compile(r"^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} )?\[(DEBUG|TRACE)\] ")


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
        {
            k: v
            for k, v in os.environ.items()
            if k.startswith("TF_") and not k.startswith("TF_VAR_") and k not in _NEVER_PASSED
        }
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
        self.process: subprocess.Popen[bytes] | None = None

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        argv = [self.binary, *args]
        return self.confinement.command(argv) if self.confinement else argv

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> Completed:
        """Run `terraform args…`, streaming every line to the log; raise on other exit codes.

        Terraform is never abandoned: output is decoded with replacement (any byte is fine), a
        log that fails is remembered while the output is still drained, and anything that
        interrupts the reading stops terraform with SIGINT and waits for it before it goes on.
        Only once terraform has exited does an error leave this method."""
        self.log(f"$ terraform {' '.join(args)}")
        started = time.monotonic()
        process = subprocess.Popen(
            self._argv(args),
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.process = process
        try:
            last, fault = self._drain(process)
        except BaseException:
            self._stop_and_wait(process)
            raise
        code = process.wait()
        self.process = None
        _timed(args[0], code, started)
        if fault is not None:
            raise fault
        if code not in ok_codes:
            raise TerraformError(_error_summary(args[0], code, last))
        return Completed(code, tuple(last))

    def _drain(self, process: subprocess.Popen[bytes]) -> tuple[list[str], Exception | None]:
        """Every line to the log until terraform closes its output; the first log failure is
        kept (and later lines dropped), never raised while terraform runs."""
        assert process.stdout is not None
        last: list[str] = []
        fault: Exception | None = None
        for raw in process.stdout:
            text = _unforgeable(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            if is_debug_line(text):
                continue
            if fault is None:
                try:
                    self.log(text)
                except Exception as exc:
                    log.exception("writing the run log failed; terraform keeps running")
                    fault = exc
            if text.strip():
                last = [*last[-19:], text]
        return last, fault

    def _stop_and_wait(self, process: subprocess.Popen[bytes]) -> None:
        """SIGINT (terraform's graceful stop) and wait for it to exit, however long it takes."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        while True:
            try:
                process.wait()
                return
            except (KeyboardInterrupt, SystemExit):
                log.warning("still waiting for terraform pid=%s to exit", process.pid)

    def capture_json(self, *args: str) -> Any:
        """Run a command whose stdout is JSON (show -json, output -json) without logging it."""
        started = time.monotonic()
        completed = subprocess.run(
            self._argv(args),
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
            start_new_session=True,
        )
        _timed(args[0], completed.returncode, started)
        if completed.returncode != 0:
            lines = completed.stderr.decode("utf-8", errors="replace").strip().splitlines()
            raise TerraformError(_error_summary(args[0], completed.returncode, lines))
        try:
            return json.loads(completed.stdout)
        except ValueError as exc:
            raise TerraformError(
                f"terraform {args[0]} printed output that is not JSON ({exc}); "
                "the terraform binary or its wrapper may be writing to stdout"
            ) from None

    def interrupt(self) -> None:
        """SIGINT to terraform's process group, as Ctrl-C in a terminal would send it (a
        sandbox's own processes ignore it, so only terraform and its plugins act on it)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)


def is_debug_line(line: str) -> bool:
    """A debug line of Terraform's internals (never a provisioner's, which Terraform prefixes
    with the resource's address)."""
    return _DEBUG_LINE.match(line) is not None


STACKRUN_PREFIXES = ("stackrun:", "policy:", "state:", "$ terraform")


def _unforgeable(line: str) -> str:
    """A line of terraform's output that looks like one of stackrun's own (a variable's
    error_message or a provisioner can print anything) is shown behind "| ", so an approver
    reading the log can tell stackrun's verdicts from what the run printed."""
    return f"| {line}" if line.startswith(STACKRUN_PREFIXES) else line


def _timed(command: str, code: int, started: float) -> None:
    seconds = time.monotonic() - started
    log.info("terraform command=%s exit=%s seconds=%.3f", command, code, seconds)


def _error_summary(command: str, code: int, lines: list[str] | tuple[str, ...]) -> str:
    errors = [ln.strip() for ln in lines if ln.strip()]
    start = next((i for i, ln in enumerate(errors) if ln.startswith("Error")), None)
    detail = " ".join(errors[start:] if start is not None else errors[-3:])
    return f"terraform {command} exited with {code}: {detail}"[:2000]
