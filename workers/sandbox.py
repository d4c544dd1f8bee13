"""Terraform's sandbox: a terraform process sees its run's workspace, the Terraform binary, the
provider cache and a minimal /etc, never the data directory, the key file, the database or the
worker's own environment (docs/SECURITY.md).

On Linux this is bubblewrap (`bwrap`). When the worker runs as root, bwrap builds the mounts as
root and `setpriv` then drops to a dedicated unprivileged user with no capabilities; otherwise
bwrap runs in an unprivileged user namespace as the worker's own user. The argv is built by a
pure function (`bwrap_argv`) so the isolation can be read and tested without running it.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from orchestrator.settings import Settings

log = logging.getLogger(__name__)

SANDBOX_HOME = "/tmp"  # noqa: S108 - a private tmpfs inside the sandbox
NOBODY = (65534, 65534)
_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_FILES = (
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/localtime",
)
_MIRROR_PATH = re.compile(r'^\s*path\s*=\s*"([^"]+)"', re.MULTILINE)


class SandboxUnavailable(Exception):
    """The configured sandbox cannot run here: terraform is not started at all."""


@dataclass(frozen=True)
class View:
    """What one terraform process may see besides the system's programs and libraries."""

    workspace: Path
    workdir: Path
    binary: Path
    read_only: tuple[Path, ...] = ()
    read_write: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Host:
    """The facts of this machine that the argv depends on (kept apart so tests can pin them)."""

    system_links: dict[str, str] = field(default_factory=dict)
    system_dirs: tuple[str, ...] = ()
    etc_files: tuple[str, ...] = ()

    @classmethod
    def inspect(cls) -> Host:
        links = {d: os.readlink(d) for d in _SYSTEM_DIRS if os.path.islink(d)}
        dirs = tuple(d for d in _SYSTEM_DIRS if d not in links and os.path.isdir(d))
        etc = tuple(p for p in _ETC_FILES if os.path.exists(p))
        return cls(links, dirs, etc)


def _parents(path: Path, made: set[Path]) -> list[str]:
    """`--dir` for each missing ancestor, world-traversable, so the mount point is reachable."""
    args: list[str] = []
    for parent in reversed(path.parents):
        if parent == Path("/") or parent in made:
            continue
        made.add(parent)
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def bwrap_argv(
    bwrap: str,
    view: View,
    host: Host,
    etc_dir: Path,
    drop_to: tuple[int, int] | None,
) -> list[str]:
    """The bwrap command line confining `view`; `drop_to` (uid, gid) when started as root."""
    if drop_to is None:
        namespaces = ["--unshare-all", "--share-net"]
    else:
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
    # bwrap itself ignores SIGINT: a stop interrupts terraform, never tears down its sandbox
    # (terraform is a Go program, which handles SIGINT even when it starts ignored).
    args = ["/usr/bin/env", "--ignore-signal=INT", bwrap, "--die-with-parent", *namespaces]
    args += ["--ro-bind", "/usr", "/usr"]
    for link, target in sorted(host.system_links.items()):
        args += ["--symlink", target, link]
    for directory in host.system_dirs:
        args += ["--ro-bind", directory, directory]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", SANDBOX_HOME]
    args += ["--perms", "0755", "--dir", "/etc"]
    for etc_file in host.etc_files:
        args += ["--ro-bind", etc_file, etc_file]
    args += ["--ro-bind", str(etc_dir / "passwd"), "/etc/passwd"]
    args += ["--ro-bind", str(etc_dir / "group"), "/etc/group"]
    made: set[Path] = {Path(SANDBOX_HOME), Path("/etc"), Path("/usr")}
    mounts: list[tuple[str, Path]] = [("--ro-bind", view.binary)]
    mounts += [("--ro-bind", p) for p in view.read_only]
    mounts += [("--bind", p) for p in view.read_write]
    mounts += [("--bind", view.workspace)]
    for flag, path in mounts:
        args += _parents(path, made)
        args += [flag, str(path), str(path)]
        made.add(path)
    args += ["--chdir", str(view.workdir), "--"]
    if drop_to is not None:
        uid, gid = drop_to
        args += [
            "/usr/bin/setpriv",
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]
    return args


def mirror_paths(cli_config: Path) -> tuple[Path, ...]:
    """The filesystem mirrors a Terraform CLI config names: read-only inside the sandbox."""
    try:
        text = cli_config.read_text(errors="replace")
    except OSError:
        return ()
    return tuple(Path(p) for p in _MIRROR_PATH.findall(text) if Path(p).is_dir())


class Sandbox:
    """How terraform processes of this worker are started: confined by bwrap, or not at all."""

    def __init__(
        self,
        bwrap: str | None,
        drop_to: tuple[int, int] | None,
        etc: Path | None = None,
        why_not: str = "",
    ) -> None:
        self.bwrap = bwrap
        self.drop_to = drop_to
        self.why_not = why_not
        self._host = Host.inspect()
        self._etc = etc or _etc_dir(drop_to)

    @property
    def confined(self) -> bool:
        return self.bwrap is not None

    def describe(self) -> str:
        if self.bwrap is None:
            return f"terraform runs without a sandbox ({self.why_not}); see docs/SECURITY.md"
        who = f"as uid {self.drop_to[0]}" if self.drop_to else "in a user namespace"
        return f"terraform runs in a bubblewrap sandbox {who}, seeing only its workspace"

    def command(self, argv: list[str], view: View) -> list[str]:
        if self.bwrap is None:
            return argv
        return bwrap_argv(self.bwrap, view, self._host, self._etc, self.drop_to) + argv

    def hand_over(self, path: Path) -> None:
        """Give a workspace (or the provider cache) to the sandbox user, when there is one."""
        if self.bwrap is None or self.drop_to is None:
            return
        uid, gid = self.drop_to
        os.chown(path, uid, gid)
        for parent, dirs, files in os.walk(path):
            for name in [*dirs, *files]:
                os.chown(os.path.join(parent, name), uid, gid, follow_symlinks=False)


def _etc_dir(drop_to: tuple[int, int] | None) -> Path:
    """A passwd and a group that name only the sandbox user."""
    uid, gid = drop_to or (os.getuid(), os.getgid())
    directory = Path(tempfile.mkdtemp(prefix="stackrun-sandbox-etc-"))
    directory.chmod(0o755)
    (directory / "passwd").write_text(f"terraform:x:{uid}:{gid}:terraform:{SANDBOX_HOME}:/bin/sh\n")
    (directory / "group").write_text(f"terraform:x:{gid}:\n")
    for name in ("passwd", "group"):
        (directory / name).chmod(0o644)
    return directory


def _sandbox_user(name: str) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        log.warning("sandbox user %r does not exist: terraform runs as nobody (65534)", name)
        return NOBODY
    if entry.pw_uid == 0:
        raise SandboxUnavailable(f"sandbox user {name!r} is root; name an unprivileged user")
    return entry.pw_uid, entry.pw_gid


def _probe(bwrap: str, drop_to: tuple[int, int] | None, etc: Path) -> str:
    """Start `true` in the sandbox once; the reason it cannot run, or '' when it can."""
    with tempfile.TemporaryDirectory(prefix="stackrun-sandbox-probe-") as scratch:
        workspace = Path(scratch)
        view = View(workspace, workspace, Path("/usr/bin/true"))
        argv = bwrap_argv(bwrap, view, Host.inspect(), etc, drop_to)
        try:
            done = subprocess.run(
                [*argv, "/usr/bin/true"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"starting bwrap failed: {exc}"
    if done.returncode != 0:
        return f"bwrap cannot create its namespaces here: {done.stderr.strip()[:300]}"
    return ""


@lru_cache(maxsize=4)
def _resolve(mode: str, user: str) -> Sandbox:
    if mode == "none":
        return Sandbox(None, None, why_not="STACKRUN_SANDBOX=none")
    drop_to = _sandbox_user(user) if os.geteuid() == 0 else None
    etc = _etc_dir(drop_to)
    bwrap = shutil.which("bwrap")
    why_not = "bwrap is not installed (Debian/Ubuntu package bubblewrap)" if bwrap is None else ""
    if bwrap is not None:
        why_not = _probe(bwrap, drop_to, etc)
    if not why_not:
        return Sandbox(bwrap, drop_to, etc)
    if mode == "bwrap":
        raise SandboxUnavailable(
            f"STACKRUN_SANDBOX=bwrap but {why_not}; install bubblewrap and allow user "
            "namespaces, or set STACKRUN_SANDBOX=auto to run terraform unconfined"
        )
    log.warning("terraform runs without a sandbox: %s", why_not)
    return Sandbox(None, None, why_not=why_not)


def for_settings(settings: Settings) -> Sandbox:
    """The sandbox of this worker process (probed once); SandboxUnavailable when it must
    be bwrap and bwrap cannot run."""
    return _resolve(settings.sandbox, settings.sandbox_user)


@dataclass(frozen=True)
class Confinement:
    """The sandbox a run's terraform processes start in, and what they may see: the provider
    cache is writable only while `init` fills it."""

    sandbox: Sandbox
    view: View
    cache: Path | None = None

    def command(self, argv: list[str]) -> list[str]:
        view = self.view
        if self.cache is not None and argv[1:2] == ["init"]:
            view = replace(view, read_write=(*view.read_write, self.cache))
        elif self.cache is not None:
            view = replace(view, read_only=(*view.read_only, self.cache))
        return self.sandbox.command(argv, view)


def confine(
    settings: Settings, workspace: Path, workdir: Path, binary: Path, env: dict[str, str]
) -> Confinement:
    """The confinement of one run's terraform processes; adapts `env` to the sandbox (a private
    HOME and TMPDIR) and gives the workspace and provider cache to the sandbox user."""
    sandbox = for_settings(settings)
    cache = Path(env.get("TF_PLUGIN_CACHE_DIR") or settings.data_dir / "plugin-cache")
    cache.mkdir(parents=True, exist_ok=True)
    if sandbox.confined:
        env.update({"HOME": SANDBOX_HOME, "TMPDIR": SANDBOX_HOME})
        sandbox.hand_over(workspace)
        sandbox.hand_over(cache)
    view = View(workspace, workdir, binary, _toolchain_paths(env, settings.data_dir))
    return Confinement(sandbox, view, cache)


def _toolchain_paths(env: dict[str, str], data_dir: Path) -> tuple[Path, ...]:
    """Read-only paths terraform needs from its environment: the CLI config, its provider
    mirrors, custom CA files; never one that holds the data directory."""
    found: list[Path] = []
    for name in ("TF_CLI_CONFIG_FILE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        value = env.get(name)
        if value and Path(value).exists():
            found.append(Path(value))
    config = env.get("TF_CLI_CONFIG_FILE")
    if config:
        found += mirror_paths(Path(config))
    data = data_dir.resolve()
    kept = []
    for path in found:
        resolved = path.resolve()
        if data == resolved or data.is_relative_to(resolved):
            log.warning("not exposing %s to terraform: it holds the data directory", path)
            continue
        kept.append(path)
    return tuple(dict.fromkeys(kept))
