"""Watch globs as regular expressions over repository paths. Pure."""

from __future__ import annotations

import posixpath
import re


def watch_pattern(stack_path: str, glob: str) -> re.Pattern[str]:
    """A watch glob (relative to the stack) as a regex over repository paths, with ordinary
    glob rules: `*` and `?` stay within one folder, `**/` spans any number of folders."""
    joined = posixpath.normpath(posixpath.join("" if stack_path == "." else stack_path, glob))
    try:
        return re.compile(_glob_regex(joined.lstrip("/")))
    except re.error:  # a bracket expression no regex can hold ([z-a]): the glob as plain text
        return re.compile("^" + re.escape(joined.lstrip("/")) + "$")


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
