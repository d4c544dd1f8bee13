"""What a mirror asks of its GitPython handle's running `git cat-file` instead of starting a
git process: the names safe to hand it (one line each, no option, no revision syntax) and the
objects of a few ids."""

from __future__ import annotations

import re

import git

OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
"""A full SHA-1 or SHA-256 object id: safe to hand to the handle's persistent `git cat-file`
(no option, no newline, no revision syntax)."""
BRANCH_NAME = re.compile(r"[A-Za-z0-9._/-]+")
"""A branch name safe to hand to the handle's `git cat-file` (no space, newline or revision
syntax); any other is resolved by `git rev-parse` of its own."""
FEW_OBJECTS = 16
"""Up to this many objects are read through the handle's running `git cat-file` (no process
started); more through one `git cat-file --batch` of their own."""


def few(object_ids: list[str]) -> bool:
    """Few enough full object ids to ask the running `git cat-file` one by one."""
    return len(object_ids) <= FEW_OBJECTS and all(OBJECT_ID.fullmatch(o) for o in object_ids)


def objects(repo: git.Repo, ids: list[str], data: bool) -> dict[str, tuple[str, int, bytes]]:
    """{id: (type, size, content if `data`)} of the objects present (ids checked by `few`)."""
    found: dict[str, tuple[str, int, bytes]] = {}
    for object_id in ids:
        try:
            if data:
                _, kind, size, content = repo.git.get_object_data(object_id)
            else:
                _, kind, size = repo.git.get_object_header(object_id)
                content = b""
        except ValueError:  # "<id> missing"
            continue
        found[object_id] = (text(kind), int(size), bytes(content))
    return found


def text(value: str | bytes) -> str:
    """A name or type the handle printed (bytes, whatever GitPython's annotations say)."""
    return value.decode() if isinstance(value, bytes) else value


def is_utf8(path: str) -> bool:
    """A path git printed as UTF-8 (`Mirror.diff_tree` keeps other bytes as surrogates)."""
    try:
        path.encode()
    except UnicodeEncodeError:
        return False
    return True
