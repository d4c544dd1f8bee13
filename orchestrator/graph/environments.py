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

from orchestrator.graph.facts import Facts, file_kind
from orchestrator.graph.stacks import as_list
from orchestrator.graph.tree import Tree, join, stack_file

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class Environment:
    """One environment of a stack folder: the files Terraform is given for it, in order, as
    paths from the repository root, and the ones it names that the commit does not hold."""

    name: str
    backend_files: tuple[str, ...]
    var_files: tuple[str, ...]
    missing: tuple[str, ...] = ()


def environments(
    tree: Tree, folder: str, block: Mapping[str, Any], has_backend: bool, known: frozenset[str]
) -> tuple[list[Environment], list[dict[str, Any]]]:
    """The folder's environments (none: the folder is one stack, as without environments) and
    the errors of its declarations. `known`: the repository's environments by convention."""
    declared = as_list(block.get("environment"))
    if declared:
        return _declared(tree, folder, declared)
    if not has_backend:
        return [], []
    return _by_convention(tree, folder, known), []


def conventional_names(tree: Tree) -> frozenset[str]:
    """The environments of a repository that follows the convention: the `<env>` parts of
    the backend files of every folder that has files for two or more of them. A folder with
    one such file is then that environment's only instance (`production.govuk.backend`);
    a lone `backend.tfbackend` in a repository without environments completes its stack."""
    names: set[str] = set()
    for folder in tree.backend_files_by_dir:
        found = set(_backend_files_by_env(tree, folder))
        if len(found) > 1:
            names.update(found)
    return frozenset(names)


def _backend_files_by_env(tree: Tree, folder: str) -> dict[str, list[str]]:
    by_env: dict[str, list[str]] = {}
    for path in tree.backend_files_by_dir.get(folder, ()):
        env = posixpath.basename(path).split(".")[0]
        if NAME.match(env):
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
    for env, files in sorted(by_env.items()):
        var_file = join(folder, f"{env}.tfvars")
        var_files = (var_file,) if var_file in tree.facts else ()
        found.append(Environment(env, tuple(files), var_files))
    return found


def _declared(
    tree: Tree, folder: str, blocks: list[Any]
) -> tuple[list[Environment], list[dict[str, Any]]]:
    found: dict[str, Environment] = {}
    errors: list[dict[str, Any]] = []

    def error(message: str) -> None:
        errors.append(
            {"kind": "environment", "file": stack_file(folder), "line": None, "message": message}
        )

    for entry in blocks:
        for name, body in (entry if isinstance(entry, dict) else {}).items():
            if not NAME.match(str(name)):
                error(
                    f"environment {name!r}: a name is letters, digits, '_', '-' or '.', "
                    "starting with a letter or digit, at most 63 characters"
                )
                continue
            if name in found:
                error(f"environment {name!r} is declared twice")
                continue
            body = body if isinstance(body, dict) else {}
            backend_files, backend_errors = _files(tree, folder, name, body, "backend_config")
            var_files, var_errors = _files(tree, folder, name, body, "var_files")
            for message in backend_errors + var_errors:
                error(message)
            missing = tuple(p for p in (*backend_files, *var_files) if p not in tree.facts)
            found[name] = Environment(name, backend_files, var_files, missing)
    return [found[name] for name in sorted(found)], errors


def _files(
    tree: Tree, folder: str, env: str, body: Mapping[str, Any], attribute: str
) -> tuple[tuple[str, ...], list[str]]:
    """The files an environment's attribute names, from the repository root; the errors of
    those that cannot be given to Terraform (outside the repository, not a file it reads)."""
    paths: list[str] = []
    errors: list[str] = []
    for raw in as_list(body.get(attribute)):
        path = join(folder, str(raw))
        wanted = "var_file" if attribute == "var_files" else "backend_config"
        if path == ".." or path.startswith("../") or posixpath.isabs(str(raw)):
            errors.append(f"environment {env!r}: {attribute} {raw!r} is outside the repository")
        elif _kind(path) not in (wanted, "tfvars"):
            errors.append(
                f"environment {env!r}: {attribute} {raw!r} must end in "
                + ("'.tfvars'" if wanted == "var_file" else "'.backend' or '.tfbackend'")
            )
        else:
            paths.append(path)
    return tuple(paths), errors


def _kind(path: str) -> str | None:
    kind = file_kind(path)
    return "var_file" if kind == "tfvars" and path.endswith(".tfvars") else kind


def merged_backend_settings(tree: Tree, environment: Environment) -> dict[str, Any]:
    """An environment's backend files as Terraform merges them: later files win."""
    merged: dict[str, Any] = {}
    for path in environment.backend_files:
        merged.update(_facts(tree.facts, path).get("backend_config") or {})
    return merged


def _facts(facts: Mapping[str, Facts], path: str) -> Facts:
    return facts.get(path) or {}
