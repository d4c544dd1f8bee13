"""A tree's facts indexed by folder, for a build: which files are Terraform, where a folder path
ends once links are followed, which folders are local module sources. Pure."""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping
from typing import Any

from orchestrator.graph.facts import STACK_FILE, Facts, file_kind
from orchestrator.vcs.links import Links


class Tree:
    """`parent` and `changed`: the tree of the parent commit, with the same links, and the
    paths that differ from it; only their folders are indexed again."""

    def __init__(
        self,
        facts: Mapping[str, Facts],
        links: Links,
        parent: Tree | None = None,
        changed: Collection[str] = (),
    ) -> None:
        self.facts = facts
        self.links = links.problems
        self.folder_links = links.folders
        # A link to nothing still names the path it waits for: creating or deleting that file
        # changes what the link's stack reads.
        self.link_ends = {**links.dangling, **links.files, **links.folders}
        # Module folders are followed through folder links: an analysis depends on them too.
        self.links_key = hash(tuple(sorted(links.folders.items())))
        self.by_dir: dict[str, dict[str, Facts]] = {}
        self.unread_by_dir: dict[str, list[str]] = {}
        self.backend_files_by_dir: dict[str, list[str]] = {}  # -backend-config files
        self.tf_by_dir: dict[str, list[tuple[str, Facts]]] = {}
        self.fingerprints: dict[str, tuple[Facts, ...]] = {}
        self.fingerprint_ids: dict[str, tuple[int, ...]] = {}
        self.failed: list[str] = []  # files whose facts are an error, in path order
        failed: Collection[str] = facts.keys()  # files that may hold an error
        if parent is None:
            by_folder: dict[str, list[str]] = {}
            for path in sorted(facts):
                by_folder.setdefault(directory(path), []).append(path)
        else:
            self._copy(parent)
            failed = {*parent.failed, *changed}
            by_folder = {
                folder: sorted(
                    p
                    for p in {*parent.by_dir.get(folder, ()), *changed}
                    if p in facts and directory(p) == folder
                )
                for folder in {directory(path) for path in changed}
            }
        for folder, paths in by_folder.items():
            self._index(folder, paths)
        self.failed = sorted(p for p in failed if p in facts and "error" in facts[p])

    def _copy(self, parent: Tree) -> None:
        self.by_dir = dict(parent.by_dir)
        self.unread_by_dir = dict(parent.unread_by_dir)
        self.backend_files_by_dir = dict(parent.backend_files_by_dir)
        self.tf_by_dir = dict(parent.tf_by_dir)
        self.fingerprints = dict(parent.fingerprints)
        self.fingerprint_ids = dict(parent.fingerprint_ids)

    def _index(self, folder: str, paths: list[str]) -> None:
        """Index one folder's files (`paths`, in path order); a folder with none is dropped."""
        indexes: list[dict[str, Any]] = [
            self.by_dir,
            self.unread_by_dir,
            self.backend_files_by_dir,
            self.tf_by_dir,
            self.fingerprints,
            self.fingerprint_ids,
        ]
        for index in indexes:
            index.pop(folder, None)
        if not paths:
            return
        files = {path: self.facts[path] for path in paths}
        self.by_dir[folder] = files
        backend_files = [p for p in paths if p.endswith(BACKEND_SUFFIXES)]
        if backend_files:
            self.backend_files_by_dir[folder] = backend_files
        unread = [
            f"{path}: {f['error']['message']}"
            for path, f in files.items()
            if "error" in f and f["error"].get("kind") == "limit" and not is_var_file(path)
        ]  # a var file is read only if named
        if unread:
            self.unread_by_dir[folder] = unread
        self.tf_by_dir[folder] = [(p, f) for p, f in files.items() if file_kind(p) in _TERRAFORM]
        self.fingerprints[folder] = tuple(files.values())
        self.fingerprint_ids[folder] = tuple(map(id, self.fingerprints[folder]))

    def tf_facts(self, folder: str) -> list[tuple[str, Facts]]:
        return self.tf_by_dir.get(folder, [])

    def through_links(self, folder: str) -> str:
        """A folder path with a folder link on its way replaced by where the link ends."""
        if not self.folder_links:
            return folder
        parts = folder.split("/")
        for cut in range(len(parts), 0, -1):
            end = self.folder_links.get("/".join(parts[:cut]))
            if end is not None:
                return join(end or ".", "/".join(parts[cut:]) or ".")
        return folder

    def module_source_dirs(self) -> set[str]:
        """The folders a local module call of any folder names, through folder links."""
        sources: set[str] = set()
        for folder in self.by_dir:
            sources.update(self._module_sources(folder))
        return sources

    def _module_sources(self, folder: str) -> tuple[str, ...]:
        """Remembered while the folder holds the same facts objects (the entry holds them, so
        their ids stay theirs) and its links are the same."""
        key = (folder, self.links_key)
        ids = self.fingerprint_ids[folder]
        known = _SOURCES.get(key)
        if known is not None and known[1] == ids:
            return known[2]
        found = tuple(
            self.through_links(join(folder, str(module["source"])))
            for _, file_facts in self.tf_facts(folder)
            for module in file_facts.get("modules") or []
            if is_local(module.get("source"))
        )
        _SOURCES[key] = (self.fingerprints[folder], ids, found)
        if len(_SOURCES) > _SOURCES_KEPT:
            _SOURCES.pop(next(iter(_SOURCES)))
        return found


_SOURCES: dict[tuple[str, int], tuple[tuple[Facts, ...], tuple[int, ...], tuple[str, ...]]] = {}
_SOURCES_KEPT = 50_000


BACKEND_SUFFIXES = (".backend", ".tfbackend")
_TERRAFORM = ("tf", "tf_json")


def directory(path: str) -> str:
    return path.rpartition("/")[0] or "."


def join(base: str, relative: str) -> str:
    joined = posixpath.normpath(posixpath.join("" if base == "." else base, relative))
    return "." if joined in ("", ".") else joined


def stack_file(folder: str) -> str:
    return STACK_FILE if folder == "." else f"{folder}/{STACK_FILE}"


def is_local(source: Any) -> bool:
    return isinstance(source, str) and (source.startswith("./") or source.startswith("../"))


def is_tfvars(path: str) -> bool:
    return path.endswith("terraform.tfvars") or path.endswith(".auto.tfvars")


def is_var_file(path: str) -> bool:
    """A tfvars file Terraform reads only when a -var-file names it (an environment's)."""
    return path.endswith(".tfvars") and not is_tfvars(path)


def is_terraform(path: str) -> bool:
    return path.endswith(".tf") or path.endswith(".tf.json")
