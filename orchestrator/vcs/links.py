"""Symbolic links of a tree, resolved the way a filesystem would, without touching one. Pure.

A link may point at a file or a folder of the same tree (it keeps working), at a path that
does not exist (it is kept: it can reach nothing outside), or outside the tree: absolutely
(`/etc/passwd`), by climbing above the root (`../../x`), or through another link that does.
A link that leaves the tree or never ends (a loop) is never written to a workspace, and the
stacks that contain or use it fail naming it (DESIGN §3, "Links")."""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping
from dataclasses import dataclass

MAX_HOPS = 40  # as Linux's ELOOP
MAX_TARGET = 4096  # PATH_MAX


@dataclass(frozen=True)
class LinkProblem:
    """A link that cannot be followed inside the tree."""

    path: str
    target: str
    reason: str

    def message(self) -> str:
        shown = self.target if len(self.target) <= 200 else self.target[:200] + "…"
        return f"{self.path} is a link to {shown!r}, which {self.reason}; it is not extracted"


@dataclass(frozen=True)
class Links:
    """Every link of a tree: where each one that stays inside ends, and why the others fail."""

    files: dict[str, str]  # link → the regular file it ends at
    folders: dict[str, str]  # link → the folder it ends at
    dangling: dict[str, str]  # link → the path it names inside the tree, which holds nothing
    problems: dict[str, LinkProblem]  # link → why it is not extracted

    def leaving(self, path: str) -> LinkProblem | None:
        """The problem of the link at `path` or of a link folder above it."""
        for prefix in _prefixes(path):
            if prefix in self.problems:
                return self.problems[prefix]
        return None


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]


def _follow(path: str, links: Mapping[str, str]) -> str:
    """The path with every link on it replaced by what it points at; _Refused when that
    leaves the tree or takes more than MAX_HOPS links."""
    pending = [part for part in reversed(path.split("/"))]
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                raise _Refused("leaves the repository")
            resolved.pop()
            continue
        candidate = "/".join([*resolved, part])
        target = links.get(candidate)
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_HOPS:
            raise _Refused(f"is a loop of links (more than {MAX_HOPS} hops)")
        if target.startswith("/"):
            raise _Refused("leaves the repository (an absolute path)")
        if len(target) > MAX_TARGET or "\0" in target or not target:
            raise _Refused("is not a path")
        pending.extend(reversed(target.split("/")))
    return "/".join(resolved)


def resolve(files: Collection[str], links: Mapping[str, str]) -> Links:
    """Resolve every link of a tree: `files` are its regular files (paths relative to the
    root, `/`-separated), `links` maps each link's path to its target as written."""
    if not links:
        return Links({}, {}, {}, {})
    folders = {posixpath.dirname(p) for p in files} | {""}
    for folder in list(folders):
        while folder:
            folder = posixpath.dirname(folder)
            folders.add(folder)
    result = Links({}, {}, {}, {})
    regular = set(files)
    for path, target in sorted(links.items()):
        try:
            end = _follow(path, links)
        except _Refused as refused:
            result.problems[path] = LinkProblem(path, target, refused.reason)
            continue
        if end in regular:
            result.files[path] = end
        elif end in folders:
            result.folders[path] = end
        else:
            result.dangling[path] = end
    return result
