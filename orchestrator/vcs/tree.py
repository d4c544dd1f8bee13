"""A commit's tree written to disk without ever writing outside it: regular files and
directories first (tarfile's `data` filter), then symbolic links, each kept only when it resolves
inside the tree. Links are created last because a link checked before the links it goes through
exist looks harmless and is not (the tarfile filter bypasses of CVE-2025-4138 and its kin)."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Collection
from pathlib import Path, PurePosixPath


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _safe_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and not PurePosixPath(name).is_absolute() and ".." not in parts


def extract(
    archive: tarfile.TarFile, destination: Path, skip: Collection[str] = ()
) -> list[tuple[str, str]]:
    """Extract `archive` (a `git archive` tar) into `destination`, but for the links named in
    `skip`; returns the other links left out because they lead outside it (path, target)."""
    destination.mkdir(parents=True, exist_ok=True)
    root = os.path.realpath(destination)
    members = archive.getmembers()
    plain = [m for m in members if m.isfile() or m.isdir()]
    archive.extractall(destination, members=plain, filter="data")
    left_out = [(m.name, "(not a file, directory or link)") for m in members if _odd(m)]
    made: list[tuple[str, str, Path]] = []
    for member in (m for m in members if m.issym() and m.name not in skip):
        link = destination / member.name
        parent = os.path.normpath(link.parent)
        if not _safe_name(member.name) or os.path.realpath(parent) != parent:
            left_out.append((member.name, member.linkname))
            continue
        if not _inside(parent, root) or os.path.lexists(link):
            left_out.append((member.name, member.linkname))
            continue
        os.makedirs(parent, exist_ok=True)
        os.symlink(member.linkname, link)
        made.append((member.name, member.linkname, link))
    return left_out + _drop_escaping(made, root)


def _odd(member: tarfile.TarInfo) -> bool:
    return not (member.isfile() or member.isdir() or member.issym())


def _drop_escaping(made: list[tuple[str, str, Path]], root: str) -> list[tuple[str, str]]:
    """Remove every link that resolves (through any chain of links) outside `root`, until
    none does: removing one can only make others dangle, never escape."""
    dropped: list[tuple[str, str]] = []
    changed = True
    while changed:
        changed = False
        for name, target, link in made:
            if os.path.islink(link) and not _inside(os.path.realpath(link), root):
                link.unlink()
                dropped.append((name, target))
                changed = True
    return dropped
