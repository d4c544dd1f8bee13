"""Which stacks a set of changed paths affects (DESIGN §3). Pure."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from orchestrator.graph.build import Graph


def owner(path: str, stack_paths: Iterable[str]) -> str | None:
    """The deepest stack directory holding `path`."""
    holders = [s for s in stack_paths if s == "." or path.startswith(s + "/")]
    return max(holders, key=lambda s: -1 if s == "." else s.count("/")) if holders else None


def _under(path: str, directory: str) -> bool:
    return directory == "." or path.startswith(directory + "/")


def _watch_pattern(stack_path: str, glob: str) -> re.Pattern[str]:
    """A watch glob (relative to the stack) as a regex over repository paths, with ordinary
    glob rules: `*` and `?` stay within one folder, `**/` spans any number of folders."""
    joined = posixpath.normpath(posixpath.join("" if stack_path == "." else stack_path, glob))
    return re.compile(_glob_regex(joined.lstrip("/")))


def _glob_regex(glob: str) -> str:
    parts: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            parts.append(".*")
            i += 2
        elif glob[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            parts.append("[^/]")
            i += 1
        elif glob[i] == "[":
            end = glob.find("]", i + 1)
            if end < 0:
                parts.append(re.escape(glob[i]))
                i += 1
            else:
                body = glob[i + 1 : end].replace("\\", "\\\\")
                parts.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end + 1
        else:
            parts.append(re.escape(glob[i]))
            i += 1
    return "^" + "".join(parts) + "$"


def affected(graph: Graph, changed: Iterable[str]) -> dict[str, str]:
    """{stack path: why it runs}: own changes, local modules, watch globs, broken files,
    then everything downstream through data edges. Never upstream."""
    changed = sorted(set(changed))
    reasons: dict[str, str] = {}
    for path in changed:
        stack = owner(path, graph.stacks)
        if stack is not None:
            reasons.setdefault(stack, f"changed: {path}")
    for stack_path, node in sorted(graph.stacks.items()):
        if stack_path in reasons:
            continue
        module_hit = next(
            ((m, p) for m in sorted(node.module_dirs) for p in changed if _under(p, m)), None
        )
        if module_hit:
            reasons[stack_path] = f"module {module_hit[0]} changed: {module_hit[1]}"
            continue
        patterns = [_watch_pattern(stack_path, g) for g in node.watch]
        watched = next((p for p in changed for g in patterns if g.match(p)), None)
        if watched:
            reasons[stack_path] = f"watched: {watched}"
        elif node.errors:
            reasons[stack_path] = f"files fail to parse: {node.errors[0]}"
    for stack_path, upstream in graph.downstream(set(reasons)).items():
        reasons[stack_path] = f"downstream of {upstream}"
    return dict(sorted(reasons.items()))
