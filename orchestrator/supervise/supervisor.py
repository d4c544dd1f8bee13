"""Start the children of `stackrun up`, start again one that dies, stop them all together.

Each child runs in a process group of its own: a signal meant for one (a Ctrl-C, a kill of
the worker and its pool) reaches no other, and stopping a child stops its whole group. On
Linux a child also gets SIGTERM when the supervisor itself dies, so nothing outlives it."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import FrameType

import httpx

from orchestrator.supervise.restarts import GiveUp, RestartPolicy, after_crash, exit_status

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
STOP_GRACE_SECONDS = 15.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
UP_POLICY = RestartPolicy()


@dataclass(frozen=True)
class ChildSpec:
    name: str
    command: tuple[str, ...]
    pass_fds: tuple[int, ...] = ()


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes]
    started: float
    crashes: tuple[float, ...] = ()
    restart_at: float | None = None
    """Set while the child is dead and waits for its backoff to pass."""


def listening_socket(host: str, port: int) -> socket.socket:
    """The API's socket, bound by the supervisor so that a taken port fails before anything
    starts and the port stays bound while the API restarts. Raises OSError."""
    listener = socket.create_server((host, port), backlog=128)
    return listener


def log_to_stderr() -> None:
    """The supervisor's lines on stderr, between its children's (whose own logging is theirs)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _die_with_supervisor() -> None:
    """Runs in the child between fork and exec: SIGTERM when its parent dies."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    """The children of one `stackrun up`; `check()` is called every POLL_SECONDS."""

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        env: Mapping[str, str],
        policy: RestartPolicy = UP_POLICY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._specs, self._env, self._policy, self._clock = specs, dict(env), policy, clock
        self._children: list[_Child] = []
        self._groups: set[int] = set()

    def start(self) -> None:
        self._children = [_Child(spec, self._spawn(spec), self._clock()) for spec in self._specs]

    def _spawn(self, spec: ChildSpec) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            list(spec.command),
            env=self._env,
            pass_fds=spec.pass_fds,
            start_new_session=True,
            preexec_fn=_die_with_supervisor,
        )
        self._groups.add(process.pid)
        log.info("supervisor: started child=%s pid=%d", spec.name, process.pid)
        return process

    def check(self) -> str | None:
        """Start again the children whose backoff has passed and note the ones that died;
        the reason to stop everything when one crashed too often."""
        now = self._clock()
        for child in self._children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.process, child.started = self._spawn(child.spec), now
                    child.restart_at = None
                continue
            returncode = child.process.poll()
            if returncode is not None:
                reason = self._crashed(child, returncode, now)
                if reason is not None:
                    return reason
        return None

    def _crashed(self, child: _Child, returncode: int, now: float) -> str | None:
        name, pid, status = child.spec.name, child.process.pid, exit_status(returncode)
        ran = now - child.started
        decision = after_crash(self._policy, (*child.crashes, now), now)
        if isinstance(decision, GiveUp):
            log.error(
                "supervisor: child=%s pid=%d exited (%s) after %.1f s: crash %d within %.0f s, "
                "stopping stackrun",
                *(name, pid, status, ran, decision.crashes, decision.window),
            )
            return (
                f"the {name} crashed {decision.crashes} times within {decision.window:.0f} s "
                f"(last: {status}); stackrun stopped — see the {name}'s output above"
            )
        child.crashes, child.restart_at = decision.crashes, now + decision.delay
        log.warning(
            "supervisor: child=%s pid=%d exited (%s) after %.1f s; restarting in %.1f s "
            "(crash %d of %d allowed within %.0f s)",
            *(name, pid, status, ran, decision.delay, len(decision.crashes)),
            *(self._policy.max_crashes - 1, self._policy.window),
        )
        return None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM to each child (a worker then finishes its tasks), SIGKILL after `grace`
        seconds to every group a child ever led: what is left of it, and of a dead worker
        whose pool was still finishing a task."""
        log.info("supervisor: stopping %s", ", ".join(c.spec.name for c in self._children))
        for child in self._children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = self._clock() + grace
        while self._clock() < deadline and self._running():
            time.sleep(POLL_SECONDS)
        if self._running():
            log.warning("supervisor: children still running after %.0f s: killing them", grace)
            for group in self._groups:
                with suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
        for child in self._children:
            child.process.wait()

    def _running(self) -> bool:
        for child in self._children:
            child.process.poll()
        self._groups = {group for group in self._groups if _group_alive(group)}
        return bool(self._groups)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGINT, SIGTERM or SIGHUP while the block runs."""
    requested = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        requested.set()

    previous = {signum: signal.signal(signum, handle) for signum in STOP_SIGNALS}
    try:
        yield requested
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _answers(health_url: str) -> bool:
    with suppress(httpx.HTTPError):
        return httpx.get(health_url, timeout=1).status_code == 200
    return False


def run(
    specs: Sequence[ChildSpec],
    env: Mapping[str, str],
    health_url: str,
    on_up: Callable[[], None],
    policy: RestartPolicy = UP_POLICY,
    startup_seconds: float = 60.0,
) -> str | None:
    """Supervise until a stop signal (None) or a failure (its reason), then stop everything.
    `on_up` runs once, after `health_url` first answers 200."""
    supervisor = Supervisor(specs, env, policy)
    with _stop_requested() as stop:
        supervisor.start()
        try:
            return _watch(supervisor, stop, health_url, on_up, startup_seconds)
        finally:
            supervisor.stop()


def _watch(
    supervisor: Supervisor,
    stop: threading.Event,
    health_url: str,
    on_up: Callable[[], None],
    startup_seconds: float,
) -> str | None:
    deadline = time.monotonic() + startup_seconds
    announced = False
    while not stop.is_set():
        reason = supervisor.check()
        if reason is not None:
            return reason
        if not announced and _answers(health_url):
            on_up()
            announced = True
        elif not announced and time.monotonic() > deadline:
            return (
                f"the API did not answer {health_url} within {startup_seconds:.0f} s; "
                "see its output above"
            )
        stop.wait(POLL_SECONDS)
    return None
