"""The working clone of one GitOps repository branch, and every git command run in it
(GitPython driving the git CLI): no prompts, a fixed identity, a timeout on each command and
on stalled transfers, and errors that name the step with the URL's credentials redacted."""

from __future__ import annotations

import configparser
import fcntl
import math
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import git

from orchestrator.secrets.masking import Masker, redact_url, url_secrets

AUTHOR_NAME = "stackrun"
AUTHOR_EMAIL = "stackrun@localhost"
_REMOTE = "origin"
_REASON_LIMIT = 300
_HTTP_LOW_SPEED_BYTES = 1000
_RACE_MARKERS = ("[rejected]", "cannot lock ref", "incorrect old value", "failed to update ref")
_NOISE_PREFIXES = ("hint:", "To ", "warning:")
_CONFIG = (
    f"user.name={AUTHOR_NAME}",
    f"user.email={AUTHOR_EMAIL}",
    "commit.gpgsign=false",
    "core.hooksPath=/dev/null",
    "core.autocrlf=false",
    "core.safecrlf=false",
    "advice.detachedHead=false",
)


class GitopsError(Exception):
    """Publishing to the GitOps repository failed.

    The message names the step and says why, with the credentials of the URL redacted.
    """


class Clone:
    """The working clone of one repository branch, and the git commands run in it."""

    def __init__(self, url: str, branch: str, workdir: Path, timeout: float) -> None:
        self.url = url
        self.branch = branch
        self.shown_url = redact_url(url)
        self.workdir = workdir.absolute()
        self.path = self.workdir / "clone"
        self._mask = Masker(url_secrets(url))
        self._timeout = timeout
        self._env = _environment(self.path, timeout)
        self._ref = f"refs/heads/{branch}"
        self._tracking_ref = f"refs/remotes/{_REMOTE}/{branch}"
        self._config_file = self.path / ".git" / "config"

    def error(self, step: str, reason: str) -> GitopsError:
        """A GitopsError naming the step, the redacted URL and the branch."""
        return GitopsError(self._mask(f"{step} {self.shown_url} (branch {self.branch}): {reason}"))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One publish at a time per workdir (an flock on `<workdir>/.lock`)."""
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            lock = os.open(self.workdir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise self.error("preparing the workdir for", os_reason(exc, self.workdir)) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)

    def check_branch_name(self) -> None:
        self._run("checking the branch name for", "check-ref-format", self._ref, in_clone=False)

    def sync(self) -> str | None:
        """Match the remote branch (hard reset); its head, or None when the branch is new."""
        step = "fetching" if self._reuse() else "cloning"
        if self._remote_head(step) is None:
            self._start_orphan()
            return None
        refspec = f"+{self._ref}:{self._tracking_ref}"
        self._run(step, "fetch", "--quiet", "--no-tags", _REMOTE, refspec)
        base = self._sha(step, self._tracking_ref)
        step = "resetting the clone of"
        self._run(step, "symbolic-ref", "HEAD", self._ref)
        self._run(step, "reset", "--quiet", "--hard", base)
        self._run(step, "clean", "-ffdxq")
        return base

    def _reuse(self) -> bool:
        """Whether a clone of this repository is there to fetch into; else make a fresh one."""
        origin = self._origin_url() if (self.path / ".git").is_dir() else None
        if origin is not None and redact_url(origin) == self.shown_url:
            if origin != self.url:
                self._set_origin()
            (self.path / ".git" / "index.lock").unlink(missing_ok=True)
            return True
        _wipe(self.path)
        self._run("cloning", "init", "--quiet", str(self.path), in_clone=False)
        self._set_origin()
        return False

    def _origin_url(self) -> str | None:
        try:
            with git.GitConfigParser(str(self._config_file), read_only=True) as config:
                return str(config.get_value(f'remote "{_REMOTE}"', "url", ""))
        except (OSError, ValueError, configparser.Error):
            return None

    def _set_origin(self) -> None:
        """Record the URL in the clone's config (not on a command line, where `ps` shows it)."""
        with git.GitConfigParser(str(self._config_file), read_only=False) as config:
            config.set_value(f'remote "{_REMOTE}"', "url", self.url)

    def _remote_head(self, step: str) -> str | None:
        for line in self._run(step, "ls-remote", "--heads", _REMOTE, self._ref).splitlines():
            sha, _, ref = line.partition("\t")
            if ref.strip() == self._ref:
                return sha.strip()
        return None

    def _start_orphan(self) -> None:
        """An empty index and tree on an unborn branch, for a branch the remote lacks."""
        step = "starting a new branch in the clone of"
        self._run(step, "symbolic-ref", "HEAD", self._ref)
        self._run(step, "update-ref", "-d", self._ref)
        self._run(step, "update-ref", "-d", self._tracking_ref)
        self._run(step, "read-tree", "--empty")
        self._run(step, "clean", "-ffdxq")

    def write(self, folder: str, texts: Mapping[str, str]) -> None:
        """Replace the owned folder by exactly `texts`, on disk and in the index."""
        try:
            _replace_folder(self.path, folder, texts)
        except _UnsafePathError as exc:
            raise self.error("writing files to", str(exc)) from None
        except OSError as exc:
            raise self.error("writing files to", os_reason(exc, self.path)) from None
        step = "staging files for"
        self._run(step, "rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", folder)
        if texts:
            self._run(step, "add", "--force", "--", *sorted(texts))

    def retire(self, paths: tuple[str, ...]) -> None:
        """Remove files an earlier hand-off wrote and this one no longer writes (each path
        already checked as repository-relative), on disk and in the index."""
        if not paths:
            return
        for path in paths:
            try:
                _refuse_unsafe_parents(self.path, path.rsplit("/", 1)[0])
            except _UnsafePathError as exc:
                raise self.error("removing old files from", str(exc)) from None
            (self.path / path).unlink(missing_ok=True)
        self._run(
            "removing old files from", "rm", "-q", "--cached", "--ignore-unmatch", "--", *paths
        )

    def differs_from(self, base: str) -> bool:
        """Whether the index holds another tree than `base`."""
        status, _, err = self._execute("diff-index", "--cached", "--quiet", base, "--")
        if status not in (0, 1):
            raise self.error("comparing with", self._reason(status, err))
        return status == 1

    def commit(self, message: str) -> str:
        step = "committing to"
        self._run(step, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message)
        return self._sha(step, "HEAD")

    def changed_paths(self, commit: str) -> tuple[str, ...]:
        args = ("diff-tree", "-r", "-z", "--root", "--no-commit-id", "--name-only", "--no-renames")
        output = self._run("committing to", *args, commit)
        return tuple(sorted(path for path in output.split("\0") if path))

    def push(self, commit: str, base: str | None) -> str:
        """Push `commit` if the branch is still at `base`; the rejection reason when it moved."""
        lease = f"--force-with-lease={self._ref}:{base or ''}"
        args = ("push", "--porcelain", "--no-verify", lease, _REMOTE, f"{commit}:{self._ref}")
        status, out, err = self._execute(*args)
        if status == 0:
            return ""
        if status < 0:
            raise self.error("pushing to", self._reason(status, err))
        reason = _push_reason(out, err)
        if any(marker in out + err for marker in _RACE_MARKERS):
            return self._mask(reason)
        raise self.error("pushing to", reason)

    def _sha(self, step: str, revision: str) -> str:
        return self._run(step, "rev-parse", "--verify", f"{revision}^{{commit}}").strip()

    def _run(self, step: str, *args: str, in_clone: bool = True) -> str:
        """Run one git command; its stdout, or a GitopsError for the step."""
        status, out, err = self._execute(*args, in_clone=in_clone)
        if status != 0:
            raise self.error(step, self._reason(status, err))
        return out

    def _execute(self, *args: str, in_clone: bool = True) -> tuple[int, str, str]:
        """Git with stackrun's config and environment, killed after the timeout."""
        location = ["-C", str(self.path)] if in_clone else []
        command = ["git", *_config_args(), *location, *args]
        try:
            return git.Git(str(self.workdir)).execute(
                command,
                with_extended_output=True,
                with_exceptions=False,
                strip_newline_in_stdout=False,
                env=self._env,
                kill_after_timeout=self._timeout,
            )
        except git.GitCommandNotFound:
            return 127, "", "git executable not found"

    def _reason(self, status: int, stderr: str) -> str:
        if status < 0 and stderr.startswith("Timeout:"):
            return f"timed out after {self._timeout:g}s"
        return _first_line(stderr) or f"git exited with status {status}"


class _UnsafePathError(Exception):
    """The owned folder's place in the clone is a link or a file: writing could escape it."""


def _replace_folder(root: Path, folder: str, texts: Mapping[str, str]) -> None:
    target = root / folder
    _refuse_unsafe_parents(root, folder)
    if target.is_dir():
        shutil.rmtree(target)
    for path, text in texts.items():
        destination = root / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(text.encode("utf-8"))


def _refuse_unsafe_parents(root: Path, folder: str) -> None:
    """Each folder on the way to the owned folder must be a real folder (or not exist yet)."""
    current = root
    for part in folder.split("/"):
        current = current / part
        shown = current.relative_to(root).as_posix()
        if current.is_symlink():
            raise _UnsafePathError(f"{shown} is a symbolic link in the repository")
        if current.exists() and not current.is_dir():
            raise _UnsafePathError(f"{shown} is a file in the repository, not a folder")


def _first_line(stderr: str) -> str:
    """Git's first meaningful stderr line, without its 'fatal:'/'error:' prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    meaningful = [line for line in lines if not line.startswith(_NOISE_PREFIXES)]
    line = next(iter(meaningful or lines), "")
    for prefix in ("fatal: ", "error: "):
        line = line.removeprefix(prefix)
    return line[:_REASON_LIMIT]


def os_reason(exc: OSError, root: Path) -> str:
    """An OSError as 'reason: path' with the path relative to the clone."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    path = Path(str(exc.filename))
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    return f"{reason}: {shown}"


def _push_reason(stdout: str, stderr: str) -> str:
    """The rejected ref's status from `push --porcelain`, with the remote's own explanation."""
    status = ""
    for line in stdout.splitlines():
        if line.startswith("!"):
            status = line.split("\t")[-1].strip()
            break
    remote = next(
        (
            line.strip().removeprefix("remote:").strip()
            for line in stderr.splitlines()
            if line.startswith("remote:") and line.removeprefix("remote:").strip()
        ),
        "",
    )
    reason = "; ".join(part for part in (status, remote) if part) or _first_line(stderr)
    return reason[:_REASON_LIMIT] or "git push failed"


def _config_args() -> list[str]:
    return [arg for setting in _CONFIG for arg in ("-c", setting)]


def _environment(clone: Path, timeout: float) -> dict[str, str]:
    """No prompts, a fixed identity, literal pathspecs and network timeouts for every command.

    The repository variables point at the clone, so that a GIT_DIR or GIT_INDEX_FILE inherited
    from the caller (a git hook running the tests, say) never redirects a reset or an add.
    """
    seconds = str(max(1, math.ceil(timeout)))
    env = {
        "GIT_DIR": str(clone / ".git"),
        "GIT_COMMON_DIR": str(clone / ".git"),
        "GIT_WORK_TREE": str(clone),
        "GIT_INDEX_FILE": str(clone / ".git" / "index"),
        "GIT_OBJECT_DIRECTORY": str(clone / ".git" / "objects"),
        "GIT_TERMINAL_PROMPT": "0",
        "GCM_INTERACTIVE": "never",
        "GIT_LITERAL_PATHSPECS": "1",
        "GIT_HTTP_LOW_SPEED_LIMIT": str(_HTTP_LOW_SPEED_BYTES),
        "GIT_HTTP_LOW_SPEED_TIME": seconds,
        "GIT_AUTHOR_NAME": AUTHOR_NAME,
        "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR_NAME,
        "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
    }
    if "GIT_SSH_COMMAND" not in os.environ and "GIT_SSH" not in os.environ:
        env["GIT_SSH_COMMAND"] = (
            f"ssh -o BatchMode=yes -o ConnectTimeout={seconds}"
            f" -o ServerAliveInterval={seconds} -o ServerAliveCountMax=1"
        )
    return env


def _wipe(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
