"""The environments a stack folder is deployed in (DESIGN §3, "Environments"): declared by
`environment "<name>" { … }` blocks of its stack block, or found by convention when its backend
is completed per environment by `<env>.backend` / `<env>.<anything>.backend` files (`.tfbackend`
alike) of at least two environments. Each environment makes one stack instance,
`<path>@<env>`. Pure."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.graph.facts import Facts
from orchestrator.graph.stacks import as_list
from orchestrator.graph.tree import BACKEND_SUFFIXES, Tree, directory, join, stack_file

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")  # fullmatch: no trailing newline
# More environments than this in one folder is a mistake, and each costs a scope and a match.
MAX_ENVIRONMENTS = 64
# A `backend.tfbackend` is a folder's shared settings, never an environment called "backend".
NOT_ENVIRONMENTS = frozenset({"backend"})


@dataclass(frozen=True)
class Environment:
    """One environment of a stack folder: the files Terraform is given for it, in order, as
    paths from the repository root (through links inside it), and why its runs may not start
    (a file the commit does not hold, a file over a limit)."""

    name: str
    backend_files: tuple[str, ...]
    var_files: tuple[str, ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Environments:
    """A folder's environments (none: the folder is one stack, as without environments) and
    the errors of its declarations, which block every stack of the folder."""

    found: list[Environment]
    errors: list[dict[str, Any]]


def environments(
    tree: Tree, folder: str, block: Mapping[str, Any], has_backend: bool, known: frozenset[str]
) -> Environments:
    """The environments of `folder`; `known`: the repository's environments by convention."""
    declared = block.get("environment")
    if declared is not None:
        return _declared(tree, folder, declared)
    if not has_backend:
        return Environments([], [])
    found = _by_convention(tree, folder, known)
    if len(found) <= MAX_ENVIRONMENTS:
        return Environments(found, [])
    message = f"more than {MAX_ENVIRONMENTS} environments' backend files in one folder"
    error = {"kind": "environment", "file": stack_file(folder), "line": None, "message": message}
    return Environments(found[:MAX_ENVIRONMENTS], [error])


def conventional_names(tree: Tree) -> frozenset[str]:
    """The environments of a repository that follows the convention: the `<env>` parts of
    the backend files of every folder with a backend block and files for two or more of them.
    A stack folder with one such file is then that environment's only instance
    (`production.govuk.backend`); a lone `prod.tfbackend` in a repository without
    environments completes its one stack."""
    names: set[str] = set()
    for folder in tree.backend_files_by_dir:
        found = set(_backend_files_by_env(tree, folder))
        if len(found) > 1 and any("backend" in f for _, f in tree.tf_facts(folder)):
            names.update(found)
    return frozenset(names)


def _backend_files_by_env(tree: Tree, folder: str) -> dict[str, list[str]]:
    by_env: dict[str, list[str]] = {}
    for path in tree.backend_files_by_dir.get(folder, ()):
        env = posixpath.basename(path).split(".")[0]
        if NAME.fullmatch(env) and env not in NOT_ENVIRONMENTS and "=" not in path:
            by_env.setdefault(env, []).append(path)
    return by_env


def _by_convention(tree: Tree, folder: str, known: frozenset[str]) -> list[Environment]:
    """`<env>.…backend` files of two or more environments (or of one the repository knows):
    one instance each, given its own backend files and, when the folder holds one,
    `<env>.tfvars`."""
    by_env = _backend_files_by_env(tree, folder)
    if len(by_env) < 2 and not set(by_env) & known:
        return []
    found: list[Environment] = []
    for env, files in sorted(by_env.items())[: MAX_ENVIRONMENTS + 1]:
        var_file = join(folder, f"{env}.tfvars")
        var_files = (var_file,) if var_file in tree.facts else ()
        found.append(Environment(env, tuple(files), var_files, _unreadable(tree, var_files)))
    return found


def _declared(tree: Tree, folder: str, declared: Any) -> Environments:
    found: dict[str, Environment] = {}
    errors: list[dict[str, Any]] = []

    def error(message: str) -> None:
        errors.append(
            {"kind": "environment", "file": stack_file(folder), "line": None, "message": message}
        )

    for entry in as_list(declared):
        if not isinstance(entry, dict):
            error(f'environment is a block, `environment "<name>" {{ … }}`, not {entry!r}')
            continue
        for name, body in entry.items():
            if not NAME.fullmatch(str(name)):
                error(
                    f"environment {name!r}: a name is letters, digits, '_', '-' or '.', "
                    "starting with a letter or digit, at most 63 characters"
                )
            elif name in found:
                error(f"environment {name!r} is declared twice")
            elif len(found) == MAX_ENVIRONMENTS:
                error(f"more than {MAX_ENVIRONMENTS} environments in one folder")
            else:
                body = body if isinstance(body, dict) else {}
                backend_files, backend_errors = _files(tree, folder, name, body, "backend_config")
                var_files, var_errors = _files(tree, folder, name, body, "var_files")
                for message in backend_errors + var_errors:
                    error(message)
                problems = _unreadable(tree, (*backend_files, *var_files))
                found[name] = Environment(name, backend_files, var_files, problems)
    return Environments([found[name] for name in sorted(found)], errors)


def _unreadable(tree: Tree, paths: tuple[str, ...]) -> tuple[str, ...]:
    """Why files an environment gives Terraform cannot be used: absent, or over a limit."""
    problems: list[str] = []
    for path in paths:
        error = (tree.facts.get(path) or {}).get("error") or {}
        if path not in tree.facts:
            problems.append(f"{path} does not exist at this commit")
        elif error.get("kind") in ("limit", "link"):
            problems.append(f"{path}: {error['message']}")
    return tuple(problems)


def _files(
    tree: Tree, folder: str, env: str, body: Mapping[str, Any], attribute: str
) -> tuple[tuple[str, ...], list[str]]:
    """The files an environment's attribute names, from the repository root (through folder
    links inside it); the errors of those that cannot be given to Terraform: outside the
    repository, not a file of that kind, or (a backend file) with a `=`, which Terraform
    would read as a setting instead of a file name."""
    paths: list[str] = []
    errors: list[str] = []
    backend = attribute == "backend_config"
    for raw in as_list(body.get(attribute)):
        path = join(folder, str(raw))
        shown = f"environment {env!r}: {attribute} {raw!r}"
        if path == ".." or path.startswith("../") or posixpath.isabs(str(raw)):
            errors.append(f"{shown} is outside the repository")
        elif backend and not path.endswith(BACKEND_SUFFIXES):
            errors.append(f"{shown} must end in '.backend' or '.tfbackend'")
        elif not backend and not path.endswith(".tfvars"):
            errors.append(f"{shown} must end in '.tfvars'")
        elif backend and "=" in path:
            errors.append(f"{shown} holds '=', which terraform reads as a setting, not a file")
        else:
            paths.append(join(tree.through_links(directory(path)), posixpath.basename(path)))
    return tuple(paths), errors


def merged_backend_settings(tree: Tree, environment: Environment) -> dict[str, Any]:
    """An environment's backend files as Terraform merges them: later files win."""
    merged: dict[str, Any] = {}
    for path in environment.backend_files:
        merged.update(_facts(tree.facts, path).get("backend_config") or {})
    return merged


def _facts(facts: Mapping[str, Facts], path: str) -> Facts:
    return facts.get(path) or {}
