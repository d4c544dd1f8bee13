"""Local bare mirrors of tracked repositories (GitPython): fetch, diff, read, export."""

from __future__ import annotations

import fcntl
import io
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import git

from orchestrator.secrets.masking import Masker, redact_url, url_secrets
from orchestrator.vcs import handle, links, tree
from orchestrator.vcs.links import LinkProblem

ZERO_SHA = "0" * 40
HOUSEKEEPING_EVERY = 32
"""A mirror's fetches skip git's automatic housekeeping (`maintenance run --auto`, a process
of its own) except one in this many: the first of each Mirror object, then every 32nd."""
LINK_MODE = "120000"
Entry = tuple[str, str]  # (git file mode, blob id)


class VcsError(Exception):
    """A git operation failed; the message says which and why."""


@dataclass(frozen=True)
class Placement:
    """Where a revision stands on a branch of the mirror, as the mirror last fetched it."""

    head: str | None  # the branch head; None when the mirror has no such branch (or no clone)
    commit: str | None  # the revision as a full commit id; None when the mirror does not hold it
    on_branch: bool  # the commit is the branch head or one of its ancestors


class Mirror:
    """A bare mirror at `path` of `clone_url`; with `refused` (why the URL may not be used)
    it never runs git against the URL, and says why."""

    def __init__(self, path: Path, clone_url: str, refused: str | None = None) -> None:
        self.path = path
        self.clone_url = clone_url
        self.refused = refused
        self.shown_url = redact_url(clone_url)
        self._mask = Masker(url_secrets(clone_url))
        self._opened: git.Repo | None = None
        self._present: set[str] = set()
        self._fetches = 0
        self._last_diff: tuple[tuple[str, str], dict[str, Entry | None]] | None = None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _repo(self) -> git.Repo:
        """One GitPython handle per Mirror: opening a repository costs a millisecond or two."""
        if self._opened is None:
            try:
                self._opened = git.Repo(self.path)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError):
                raise VcsError(f"{self.path} is not a git repository") from None
        return self._opened

    def close(self) -> None:
        """Stop the git processes of the handle and forget what the mirror was known to hold."""
        if self._opened is not None:
            self._opened.close()
            self._opened = None
        self._present.clear()

    def ensure_commit(self, sha: str) -> None:
        """Clone or fetch until `sha` is present in the mirror."""
        with self._locked():
            self._clone_or_fetch(unless_present=sha)
            if not self.has_commit(sha):
                raise VcsError(f"commit {sha} is not in {self.shown_url} after fetching")

    def refresh(self, timeout: float | None = None) -> None:
        """Clone the mirror if needed and fetch every branch; with `timeout`, git is killed
        after that many seconds (an unreachable host must not hold an API request)."""
        with self._locked():
            self._clone_or_fetch(unless_present=None, timeout=timeout)

    def _clone_or_fetch(self, unless_present: str | None, timeout: float | None = None) -> None:
        if self.refused is not None:
            raise VcsError(f"fetching the repository's clone URL: {self.refused}")
        try:
            if not (self.path / "HEAD").exists():
                self.close()  # a handle on a mirror removed since, and what it held
                self._clone(timeout)
            elif unless_present is None or not self.has_commit(unless_present):
                self._fetch(timeout)
        except git.GitCommandError as exc:
            message = self._mask(_git_message(exc))
            raise VcsError(f"fetching {self.shown_url}: {message}") from None
        except (git.exc.UnsafeProtocolError, git.exc.UnsafeOptionError):
            raise VcsError(
                "fetching the repository's clone URL: git refused it as unsafe (a remote "
                "helper or an option); register an https://, ssh:// or user@host:path URL"
            ) from None

    def _fetch(self, timeout: float | None) -> None:
        """`git fetch --prune origin`; git's automatic housekeeping only on every
        HOUSEKEEPING_EVERY-th fetch (a fetch holds up the push being processed)."""
        housekeeping = self._fetches % HOUSEKEEPING_EVERY == 0
        self._fetches += 1
        options = [] if housekeeping else ["maintenance.auto=false", "gc.auto=0"]
        self._repo().git(c=options).fetch("--prune", "origin", kill_after_timeout=timeout)

    def _clone(self, timeout: float | None) -> None:
        if timeout is None:
            git.Repo.clone_from(self.clone_url, self.path, mirror=True)
            return
        git.Git.check_unsafe_protocols(self.clone_url)
        try:
            git.Git().clone(
                "--mirror", "--", self.clone_url, str(self.path), kill_after_timeout=timeout
            )
        except git.GitCommandError:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def has_commit(self, sha: str) -> bool:
        """Whether the mirror holds `sha`; a commit once present stays (mirrors never gc)."""
        if sha in self._present:
            return True
        if handle.OBJECT_ID.fullmatch(sha):  # asked of the handle's running `git cat-file`
            try:
                self._repo().git.get_object_header(f"{sha}^{{commit}}")
            except ValueError:  # "<sha>^{commit} missing"
                return False
        else:
            try:
                self._repo().git.cat_file("-e", f"{sha}^{{commit}}")
            except git.GitCommandError:
                return False
        self._present.add(sha)
        return True

    def changed_paths(self, before: str, after: str) -> list[str] | None:
        """Paths changed between two commits; None when `before` is unknown (new branch)."""
        if before == ZERO_SHA or not self.has_commit(before):
            return None
        if self._last_diff is not None and self._last_diff[0] == (before, after):
            paths = list(self._last_diff[1])  # `diff_tree` listed the same pair a moment ago
            if all(handle.is_utf8(path) for path in paths):
                return paths
        output = self._repo().git.diff("--name-only", "--no-renames", "-z", before, after)
        return [p for p in output.split("\0") if p]

    def commit_info(self, sha: str) -> tuple[str, str]:
        commit = self._repo().commit(sha)
        return str(commit.message).strip(), str(commit.author.name or "")

    def read_files(self, sha: str, wanted: set[str] | None = None) -> dict[str, str]:
        """Text of the files at `sha` whose path is in `wanted` (all .tf/.hcl when None)."""
        tree = self._repo().commit(sha).tree
        files: dict[str, str] = {}
        for item in tree.traverse():
            if not isinstance(item, git.Blob):
                continue
            path = str(item.path)
            if wanted is not None and path not in wanted:
                continue
            files[path] = item.data_stream.read().decode("utf-8", errors="replace")
        return files

    def tree_entries(self, sha: str) -> dict[str, Entry]:
        """{path: (mode, blob id)} of every file and link at `sha` (one `git ls-tree`)."""
        output = self._repo().git.ls_tree("-r", "-z", "--full-tree", sha)
        entries: dict[str, Entry] = {}
        for entry in output.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode, kind, blob = meta.split(" ")
            if kind == "blob":
                entries[path] = (mode, blob)
        return entries

    def blob_sizes(self, blob_ids: list[str]) -> dict[str, int]:
        """{blob id: size in bytes}, without reading the contents (`git cat-file --batch-check`)."""
        if not blob_ids:
            return {}
        if handle.few(blob_ids):
            return {
                b: n
                for b, (kind, n, _) in handle.objects(self._repo(), blob_ids, False).items()
                if kind == "blob"
            }
        sizes: dict[str, int] = {}
        for line in self._cat_file("--batch-check", blob_ids).decode().splitlines():
            fields = line.split(" ")
            if len(fields) == 3 and fields[1] == "blob":
                sizes[fields[0]] = int(fields[2])
        return sizes

    def diff_tree(self, old: str, new: str) -> dict[str, Entry | None]:
        """{path: new (mode, blob id), or None when deleted} between two commits (one git
        call)."""
        completed = subprocess.run(
            ["git", "diff-tree", "-r", "-z", "--no-renames", old, new],
            cwd=self.path,
            capture_output=True,
            check=True,
        )
        fields = completed.stdout.decode("utf-8", errors="surrogateescape").split("\0")
        changes: dict[str, Entry | None] = {}
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            if not meta.startswith(":"):
                continue
            _old_mode, new_mode, _old_blob, new_blob, status = meta[1:].split(" ")
            deleted = status.startswith("D") or new_mode.startswith("16")
            changes[path] = None if deleted else (new_mode, new_blob)
        self._last_diff = ((old, new), changes)
        return changes

    def _cat_file(self, mode: str, blob_ids: list[str]) -> bytes:
        """One `git cat-file --batch[-check]` over many objects."""
        completed = subprocess.run(
            ["git", "cat-file", mode],
            cwd=self.path,
            input="\n".join(blob_ids).encode() + b"\n",
            capture_output=True,
            check=True,
        )
        return completed.stdout

    def parents(self, sha: str) -> list[str]:
        if sha in self._present and handle.OBJECT_ID.fullmatch(sha):
            return self._parents(sha)  # from the handle's running `git cat-file`
        output = self._repo().git.rev_parse(f"{sha}^@")
        return [line.strip() for line in str(output).splitlines() if line.strip()]

    def read_blobs(self, blob_ids: list[str]) -> dict[str, bytes]:
        """Contents of many blobs through one `git cat-file --batch`."""
        if not blob_ids:
            return {}
        if handle.few(blob_ids):
            return {
                b: content
                for b, (_, _, content) in handle.objects(self._repo(), blob_ids, True).items()
            }
        data = self._cat_file("--batch", blob_ids)
        contents: dict[str, bytes] = {}
        position = 0
        for blob in blob_ids:
            header_end = data.index(b"\n", position)
            header = data[position:header_end].split(b" ")
            if len(header) < 3 or header[1] == b"missing":
                position = header_end + 1
                continue
            size = int(header[2])
            contents[blob] = data[header_end + 1 : header_end + 1 + size]
            position = header_end + 1 + size + 1
        return contents

    def branch_head(self, branch: str) -> str | None:
        if handle.BRANCH_NAME.fullmatch(branch):  # asked of the handle's running `git cat-file`
            try:
                return handle.text(self._repo().git.get_object_header(f"refs/heads/{branch}")[0])
            except ValueError:  # "refs/heads/<branch> missing"
                return None
        try:
            return str(self._repo().git.rev_parse("--verify", f"refs/heads/{branch}")).strip()
        except git.GitCommandError:
            return None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `ancestor` is `descendant` or one of its ancestors. A parent of the other
        (a push's `before`, the previous pipeline's commit) is answered from the commits the
        handle reads; anything else by `git merge-base --is-ancestor`."""
        if ancestor == descendant and self.has_commit(ancestor):
            return True
        if ancestor in self._parents(descendant):
            return True
        if descendant in self._parents(ancestor):
            return False  # a commit's parent is never its descendant
        try:
            self._repo().git.merge_base("--is-ancestor", ancestor, descendant)
        except git.GitCommandError:
            return False
        return True

    def _parents(self, sha: str) -> list[str]:
        """The parents of commit `sha` as the handle reads them; none when it is not a full
        object id or not a commit the mirror holds."""
        if not handle.OBJECT_ID.fullmatch(sha):
            return []
        try:
            return [parent.hexsha for parent in self._repo().commit(sha).parents]
        except (ValueError, git.BadName, git.BadObject, git.GitCommandError):
            return []

    def locate(self, revision: str | None, branch: str) -> Placement:
        """Where `revision` (the branch head when None) stands on `branch` as the mirror last
        fetched it. Never fetches: a caller cannot make stackrun fetch, nor move the branch."""
        head = self.branch_head(branch) if (self.path / "HEAD").exists() else None
        if head is None:
            return Placement(None, None, False)
        commit = head if revision is None else self._commit_id(revision)
        if commit is None:
            return Placement(head, None, False)
        return Placement(head, commit, self.is_ancestor(commit, head))

    def _commit_id(self, revision: str) -> str | None:
        """The full id of a commit the mirror holds; None for anything else, and for text that
        git could read as an option."""
        if revision.startswith("-") or not revision.isprintable() or " " in revision:
            return None
        try:
            found = self._repo().git.rev_parse("--verify", "--quiet", f"{revision}^{{commit}}")
        except git.GitCommandError:
            return None
        return str(found).strip() or None

    def merge_base(self, first: str, second: str) -> str | None:
        try:
            return str(self._repo().git.merge_base(first, second)).strip() or None
        except git.GitCommandError:
            return None

    def resolve(self, revision: str) -> str:
        """A full commit id for a revision name (branch, tag, short id)."""
        try:
            return str(self._repo().git.rev_parse("--verify", f"{revision}^{{commit}}")).strip()
        except git.GitCommandError as exc:
            message = self._mask(_git_message(exc))
            raise VcsError(f"resolving {revision!r} in {self.shown_url}: {message}") from None

    def export(self, sha: str, destination: Path) -> tuple[LinkProblem, ...]:
        """Write the tree of `sha` into `destination` (no .git). A link that leaves the tree
        (or loops), judged against the whole tree (vcs/links.py), is not written and is
        returned; links inside it are written as links, last, and each checked again on disk
        (vcs/tree.py), so no link can make anything land outside `destination`."""
        buffer = io.BytesIO()
        self._repo().archive(buffer, treeish=sha, format="tar")
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as archive:
            members = archive.getmembers()
            resolved = links.resolve(
                [m.name for m in members if m.isfile()],
                {m.name: m.linkname for m in members if m.issym()},
            )
            left_out = tree.extract(archive, destination, skip=set(resolved.problems))
        problems = dict(resolved.problems)
        for path, target in left_out:
            problems.setdefault(path, LinkProblem(path, target, "leads outside the repository"))
        return tuple(problems[p] for p in sorted(problems))


def _git_message(exc: git.GitCommandError) -> str:
    stderr = str(exc.stderr or "").strip().replace("stderr: ", "").strip("'\n ")
    return stderr or str(exc)
