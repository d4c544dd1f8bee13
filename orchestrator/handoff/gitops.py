"""Publish rendered Argo CD files to a GitOps repository (the git work: `gitops_clone.py`).

stackrun owns one folder of the repository: `publish` makes that folder hold exactly the given
files, commits the result as `stackrun <stackrun@localhost>` and pushes it, leaving everything
outside the folder as it is. Identical content means no commit and no push.

The clone lives in `<workdir>/clone` and is reused (fetched and hard-reset) from one call to the
next; a lock file in `workdir` serialises calls sharing it. A push rejected because the branch
moved is retried on top of the new head. Git never prompts, every git command is killed after
`timeout_seconds`, and stalled HTTP transfers and SSH connections give up on their own within
the same time. Error messages and log lines show the repository URL without its credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.handoff.gitops_clone import Clone, GitopsError
from orchestrator.handoff.render import RenderedFile

__all__ = ["GitopsError", "Published", "publish"]

log = logging.getLogger(__name__)

PUSH_RETRIES = 3


@dataclass(frozen=True)
class Published:
    """The outcome of one publish: a new commit, or the unchanged branch head."""

    status: str
    commit: str
    changed_paths: tuple[str, ...]
    files: tuple[str, ...] = field(default=(), compare=False)  # what the folder now holds


def publish(
    repository: str,
    branch: str,
    owned_folder: str,
    files: Sequence[RenderedFile],
    message: str,
    workdir: Path,
    *,
    timeout_seconds: float = 60.0,
    retired: Sequence[str] = (),
) -> Published:
    """Make `owned_folder` on `branch` hold exactly `files`, and remove the `retired` files
    (ones an earlier hand-off wrote elsewhere, e.g. for a renamed cluster) in the same commit;
    commit and push if that changes anything."""
    clone = Clone(repository, branch, workdir, timeout_seconds)
    folder = _owned_folder(clone, owned_folder)
    texts = _file_texts(clone, folder, files)
    gone = _retired_paths(retired, folder)
    if not timeout_seconds > 0:
        raise clone.error("checking the request for", f"timeout {timeout_seconds} is not positive")
    with clone.locked():
        clone.check_branch_name()
        published = _publish_with_retries(clone, folder, texts, message, gone)
    log.info(
        "gitops publish repo=%s branch=%s status=%s commit=%s changed=%d",
        clone.shown_url,
        branch,
        published.status,
        published.commit,
        len(published.changed_paths),
    )
    return published


def _publish_with_retries(
    clone: Clone, folder: str, texts: Mapping[str, str], message: str, gone: tuple[str, ...]
) -> Published:
    """Sync, write, commit and push; start again on the new head while the branch moves."""
    rejection = ""
    written = tuple(sorted(texts))
    for attempt in range(1, PUSH_RETRIES + 2):
        base = clone.sync()
        clone.write(folder, texts)
        clone.retire(gone)
        if base is not None and not clone.differs_from(base):
            return Published("unchanged", base, (), written)
        commit = clone.commit(message)
        changed = clone.changed_paths(commit)
        rejection = clone.push(commit, base)
        if not rejection:
            return Published("committed", commit, changed, written)
        log.info(
            "gitops push rejected repo=%s branch=%s attempt=%d reason=%s",
            clone.shown_url,
            clone.branch,
            attempt,
            rejection,
        )
    raise clone.error(
        "pushing to", f"rejected {PUSH_RETRIES + 1} times, the branch kept moving: {rejection}"
    )


def _retired_paths(retired: Sequence[str], folder: str) -> tuple[str, ...]:
    """The retired paths that are safe and outside the folder being written (that folder is
    replaced whole anyway); anything else is left alone."""
    kept: set[str] = set()
    for path in retired:
        parts = _relative_parts(path)
        if isinstance(parts, str):
            continue
        normal = "/".join(parts)
        if not normal.startswith(folder + "/"):
            kept.add(normal)
    return tuple(sorted(kept))


def _owned_folder(clone: Clone, owned_folder: str) -> str:
    parts = _relative_parts(owned_folder)
    if isinstance(parts, str):
        raise clone.error("checking files for", f"owned folder {owned_folder!r} {parts}")
    return "/".join(parts)


def _file_texts(clone: Clone, folder: str, files: Sequence[RenderedFile]) -> dict[str, str]:
    """{normalised path: text}; every path relative, without '..' and inside the folder."""
    texts: dict[str, str] = {}
    for file in files:
        parts = _relative_parts(file.path)
        if isinstance(parts, str):
            raise clone.error("checking files for", f"file path {file.path!r} {parts}")
        path = "/".join(parts)
        if not path.startswith(folder + "/"):
            reason = f"file path {file.path!r} is outside the owned folder {folder!r}"
            raise clone.error("checking files for", reason)
        if path in texts:
            raise clone.error("checking files for", f"file path {file.path!r} is given twice")
        texts[path] = file.text()
    return texts


def _relative_parts(path: str) -> list[str] | str:
    """The parts of a safe repository-relative path, or why it is not one."""
    if path.startswith("/"):
        return "is absolute"
    if "\0" in path:
        return "contains a NUL character"
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        return "contains '..'"
    if any(part.lower() == ".git" for part in parts):
        return "is inside .git"
    if not parts:
        return "is the whole repository"
    return parts
