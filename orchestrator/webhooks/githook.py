"""A plain git server's webhook: a post-receive hook in a bare repository that delivers each
updated ref to stackrun as a signed GitHub push (`deliver_push`), the way Gitea without
webhooks or a bare repository over SSH is wired. What the hook needs (stackrun's URL, the
registered name, the webhook secret) is kept beside it in `stackrun-hook.json`, readable by
the repository's owner only."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from orchestrator.webhooks.delivery import PushedRef, deliver_push

CONFIG_FILE = "stackrun-hook.json"
HOOK_MARKER = "# stackrun post-receive hook"
_SHA = re.compile(r"^[0-9a-f]{40}$")


class HookError(Exception):
    """The hook cannot be installed here; the message says why and what to try."""


@dataclass(frozen=True)
class HookConfig:
    url: str
    repository: str
    clone_url: str
    secret: str


def hook_path(bare: Path) -> Path:
    return bare / "hooks" / "post-receive"


def install(bare: Path, config: HookConfig, python: str = sys.executable) -> Path:
    """Write the hook and its configuration into `bare`; a post-receive hook that is not
    stackrun's is never overwritten."""
    if not (bare / "HEAD").is_file() or not (bare / "objects").is_dir():
        raise HookError(f"installing the hook: {bare} is not a bare git repository")
    hook = hook_path(bare)
    if hook.exists() and HOOK_MARKER not in hook.read_text(errors="replace"):
        raise HookError(
            f"installing the hook: {hook} exists and is not stackrun's; "
            "call `stackrun hooks deliver` from it instead (it reads the same input)"
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in config.url):
        raise HookError(f"installing the hook: the URL {config.url!r} holds a control character")
    _write_private(bare / CONFIG_FILE, json.dumps(config.__dict__, indent=2) + "\n")
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(
        f"#!/bin/sh\n{HOOK_MARKER}: each updated ref goes to {config.url} as a signed push\n"
        f"exec {shlex.quote(python)} -m orchestrator.cli hooks deliver --git-dir .\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return hook


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner reads, never through a link planted where it goes."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text)


def read_config(git_dir: Path) -> HookConfig:
    path = git_dir / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
        return HookConfig(data["url"], data["repository"], data["clone_url"], data["secret"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HookError(f"reading {path}: {exc}; reinstall with `stackrun hooks install`") from None


def pushed_refs(lines: list[bytes]) -> Iterator[PushedRef | str]:
    """Each `<old> <new> <ref>` line as a PushedRef, or why it is skipped (a ref whose name
    is not UTF-8, a malformed line): GitHub's payload is JSON text."""
    for raw in lines:
        parts = raw.rstrip(b"\r\n").split(b" ", 2)
        if len(parts) != 3:
            yield f"skipped a malformed hook input line ({len(raw)} bytes)"
            continue
        try:
            before, after, ref = (part.decode("utf-8") for part in parts)
        except UnicodeDecodeError:
            yield f"skipped ref {parts[2]!r}: its name is not UTF-8"
            continue
        if not (_SHA.match(before) and _SHA.match(after)):
            yield f"skipped ref {ref!r}: not a pair of 40-hex commit ids"
            continue
        yield PushedRef(before, after, ref)


def deliver_all(git_dir: Path, lines: list[bytes], pusher: str) -> list[str]:
    """Deliver every updated ref; one line of outcome each, for the pusher's terminal."""
    config = read_config(git_dir)
    said: list[str] = []
    for pushed in pushed_refs(lines):
        if isinstance(pushed, str):
            said.append(pushed)
            continue
        said.append(_deliver_one(config, pushed, pusher))
    return said


def _deliver_one(config: HookConfig, pushed: PushedRef, pusher: str) -> str:
    doing = f"delivering the push of {pushed.ref} ({pushed.after[:12]}) to {config.url}"
    try:
        done = deliver_push(
            config.url, config.repository, config.secret, config.clone_url, pushed, pusher
        )
    except httpx.HTTPError as exc:
        return (
            f"{doing}: stackrun did not answer ({type(exc).__name__}); the push itself is "
            f"in; once stackrun is up, push again or run `stackrun repos sync`"
        )
    if done.status_code == 401:
        return (
            f"{doing}: refused (401, bad signature): the hook's webhook secret is not the "
            "repository's; reinstall it with `stackrun hooks install` and the current secret"
        )
    if done.status_code >= 400:
        return f"{doing}: refused ({done.status_code}): {done.body.get('detail', done.body)}"
    if done.status_code == 200:
        why = done.body.get("reason") or done.body.get("status") or "nothing to do"
        return f"{pushed.ref} {pushed.after[:12]}: stackrun starts no work for it ({why})"
    return f"{pushed.ref} {pushed.after[:12]}: stackrun accepted the push ({done.status_code})"
