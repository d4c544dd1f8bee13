"""Which clone URLs stackrun registers and fetches (DESIGN §7). Pure: no git, no database; the
only looks at the disk resolve a local path (so a symlink or `..` cannot hide where it goes) and
see whether a repository is there.

Accepted: `https://host/path`, `ssh://[user@]host[:port]/path` and scp-style `user@host:path`.
`file:///path` and `/path` only when local repositories are allowed, only of a git repository,
and never inside the data directory (database, key file, other repositories' mirrors, run
workspaces). Everything else is refused, in particular git's remote helpers (`ext::…` runs a
program, `fd::…` reads a descriptor), anything that looks like a command-line option, and plain
`http://` or `git://`. A refusal names the rule, never the URL (it may carry a token) nor a
server path."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

MAX_URL_CHARS = 2048
FORMS = "https://host/path, ssh://[user@]host/path or user@host:path"
LOCAL_SETTING = "STACKRUN_ALLOW_LOCAL_REPOSITORIES"

_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_SCP = re.compile(
    r"^[A-Za-z0-9_][A-Za-z0-9._~-]*"  # user
    r"@(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])"  # host or [IPv6]
    r":[^-].*$"  # path, not an option
)


@dataclass(frozen=True)
class Remote:
    """A URL of a server reached over https or ssh."""

    url: str


@dataclass(frozen=True)
class Local:
    """A repository on this machine, by absolute path (file:// already decoded)."""

    path: str


@dataclass(frozen=True)
class Refused:
    reason: str


def classify(url: str) -> Remote | Local | Refused:
    """The kind of a clone URL, or why it is refused whatever the settings."""
    if not url or len(url) > MAX_URL_CHARS:
        return Refused(f"clone_url must have 1 to {MAX_URL_CHARS} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return Refused("clone_url must not contain control characters")
    if url.startswith("-"):
        return Refused(f"clone_url must not start with '-' (git would read an option); use {FORMS}")
    if _HELPER.match(url):
        return Refused(
            "clone_url must not name a git remote helper (transport::address, such as ext:: "
            f"or fd::): it runs programs on the server; use {FORMS}"
        )
    if url.startswith("/"):
        return Local(url)
    if " " in url:
        return Refused("clone_url must not contain spaces (percent-encode them as %20)")
    if "://" in url:
        return _with_scheme(url)
    if _SCP.match(url):
        return Remote(url)
    return Refused(f"clone_url must be {FORMS}")


def _split(url: str) -> SplitResult | None:
    """The URL's parts, or None when its host or port does not parse."""
    try:
        parts = urlsplit(url)
        return parts if parts.port is None or parts.port > 0 else None
    except ValueError:
        return None


def _with_scheme(url: str) -> Remote | Local | Refused:
    parts = _split(url)
    if parts is None:
        return Refused(f"clone_url is not a valid URL (host or port); use {FORMS}")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            return Refused("clone_url file:// takes no host: use file:///absolute/path")
        if not parts.path:
            return Refused("clone_url file:// needs a path: use file:///absolute/path")
        return Local(unquote(parts.path))
    if parts.scheme not in ("https", "ssh"):
        return Refused(f"clone_url scheme {parts.scheme}:// is not accepted; use {FORMS}")
    return _remote(url, parts)


def _remote(url: str, parts: SplitResult) -> Remote | Refused:
    host = parts.hostname or ""
    if not host or host.startswith("-") or (parts.username or "").startswith("-"):
        return Refused(f"clone_url needs a host name (not an option); use {FORMS}")
    if parts.scheme == "ssh" and parts.password is not None:
        return Refused("clone_url ssh:// carries no password: give stackrun an ssh key instead")
    if parts.path.strip("/") == "":
        return Refused(f"clone_url needs the repository's path on {parts.scheme}://host/")
    return Remote(url)


def is_repository(path: str) -> bool:
    """Whether `path` holds a git repository: bare (a HEAD file) or a working tree (.git)."""
    root = Path(os.path.realpath(path))
    return (root / "HEAD").is_file() or (root / ".git").exists()


def is_inside(path: str, directory: Path) -> bool:
    """Whether `path`, symlinks and `..` resolved, is `directory` or below it."""
    target = Path(os.path.realpath(path))
    root = Path(os.path.realpath(directory))
    return target == root or target.is_relative_to(root)


def refusal(url: str, *, allow_local: bool, data_dir: Path) -> str | None:
    """Why stackrun must not register or fetch `url`, or None when it may."""
    found = classify(url)
    if isinstance(found, Refused):
        return found.reason
    if isinstance(found, Remote):
        return None
    if not allow_local:
        return (
            "clone_url names a local repository (file:// or a path), refused unless "
            f"{LOCAL_SETTING}=true; use {FORMS}"
        )
    if is_inside(found.path, data_dir):
        return (
            "clone_url points inside stackrun's data directory (its database, keys and "
            "mirrors), which is never a repository: register one outside it"
        )
    if not is_repository(found.path):
        return "clone_url names no git repository on this machine: give the path of one"
    return None
