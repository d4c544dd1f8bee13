"""What stops a stack's runs before Terraform starts (DESIGN §3, "Limits" and "Links"). Pure.

A stack is blocked by a link that leaves the repository when the link is in its folder (it is
the deepest stack holding the link), in or on the way to a local module it calls, or named by
its watch globs; by a file of its folder or of its modules that the graph did not read because
of a limit; by a module tree over the limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orchestrator.graph.globs import watch_pattern
from orchestrator.vcs.links import LinkProblem

if TYPE_CHECKING:
    from orchestrator.graph.model import StackNode


def link_errors(links: Mapping[str, LinkProblem]) -> list[dict[str, Any]]:
    """The graph's errors for links that leave the repository, whoever uses them."""
    return [
        {"kind": "link", "file": path, "line": None, "message": problem.message()}
        for path, problem in sorted(links.items())
    ]


def record(
    stacks: Mapping[str, StackNode],
    links: Mapping[str, LinkProblem],
    unread_by_dir: Mapping[str, list[str]],
) -> None:
    """Set every stack's `blockers` (a stack node may come from an earlier build: always
    recomputed, since links and unread files are not part of the cached facts)."""
    if not links and not unread_by_dir:
        for node in stacks.values():
            node.blockers = [node.module_overflow] if node.module_overflow else []
        return
    owned: dict[str, list[LinkProblem]] = {}
    under: dict[str, list[LinkProblem]] = {}
    stack_folders = {node.path for node in stacks.values()}
    for problem in links.values():
        folders = _folders_of(problem.path)
        holder = next((f for f in folders if f in stack_folders), None)
        if holder is not None:
            owned.setdefault(holder, []).append(problem)
        for folder in folders:
            under.setdefault(folder, []).append(problem)
    for node in stacks.values():
        folders = [node.path, *sorted(node.module_dirs)]
        node.blockers = [
            *(message for folder in folders for message in unread_by_dir.get(folder, [])),
            *([node.module_overflow] if node.module_overflow else []),
            *(p.message() for p in _links_used(node, links, owned, under)),
        ]


def _links_used(
    node: StackNode,
    links: Mapping[str, LinkProblem],
    owned: Mapping[str, list[LinkProblem]],
    under: Mapping[str, list[LinkProblem]],
) -> list[LinkProblem]:
    if not links:
        return []
    used = {p.path: p for p in owned.get(node.path, [])}
    for folder in sorted(node.module_dirs | node.module_targets):
        used.update({p.path: p for p in under.get(folder, [])})
        for prefix in _prefixes(folder):
            if prefix in links:
                used[prefix] = links[prefix]
    if node.watch and links:
        patterns = [watch_pattern(node.path, glob) for glob in node.watch]
        for path, problem in links.items():
            if any(pattern.match(path) for pattern in patterns):
                used[path] = problem
    return [used[p] for p in sorted(used)]


def _folders_of(path: str) -> list[str]:
    """The folders holding `path`, nearest first, "." last."""
    folders: list[str] = []
    while "/" in path:
        path = path.rpartition("/")[0]
        folders.append(path)
    return [*folders, "."]


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]
