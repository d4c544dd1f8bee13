"""Find the stacks of a repository tree (DESIGN §3): stackrun.hcl or a backend block."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.graph.hcl import HclError, parse

STACK_FILE = "stackrun.hcl"


@dataclass(frozen=True)
class StackSpec:
    """What a repository says about one stack."""

    path: str
    name: str
    labels: tuple[str, ...] = ()
    autodeploy: bool = False
    depends_on: tuple[str, ...] = ()
    worker_pool: str = "default"
    backend_type: str | None = None
    errors: tuple[str, ...] = field(default=())

    @property
    def managed_state(self) -> bool:
        return self.backend_type in (None, "local")


def is_terraform_file(path: str) -> bool:
    return path.endswith(".tf") or path.endswith(".tf.json")


def relevant_file(path: str) -> bool:
    return is_terraform_file(path) or posixpath.basename(path) == STACK_FILE


def discover(files: Mapping[str, str]) -> list[StackSpec]:
    """Stacks in a tree given as {path: text} of its .tf, .tf.json and stackrun.hcl files."""
    by_dir: dict[str, dict[str, str]] = {}
    for path, text in files.items():
        by_dir.setdefault(posixpath.dirname(path) or ".", {})[path] = text
    specs = [_spec_for_dir(directory, dir_files) for directory, dir_files in by_dir.items()]
    return sorted((s for s in specs if s is not None), key=lambda s: s.path)


def _spec_for_dir(directory: str, files: Mapping[str, str]) -> StackSpec | None:
    stack_block: dict[str, Any] | None = None
    backend: str | None = None
    errors: list[str] = []
    for path, text in sorted(files.items()):
        parsed = parse(text, path)
        if isinstance(parsed, HclError):
            errors.append(str(parsed))
            continue
        if posixpath.basename(path) == STACK_FILE:
            stack_block = _first_block(parsed.get("stack"))
        else:
            backend = backend or _backend_type(parsed)
    has_stack_file = any(posixpath.basename(p) == STACK_FILE for p in files)
    if stack_block is None and backend is None and not (has_stack_file and errors):
        return None
    return _spec(directory, stack_block or {}, backend, errors)


def _spec(
    directory: str, block: dict[str, Any], backend: str | None, errors: list[str]
) -> StackSpec:
    return StackSpec(
        path=directory,
        name=str(block.get("name") or directory),
        labels=tuple(str(x) for x in block.get("labels") or ()),
        autodeploy=_boolean(block.get("autodeploy", False)),
        depends_on=tuple(str(x) for x in block.get("depends_on") or ()),
        worker_pool=str(block.get("worker_pool") or "default"),
        backend_type=backend,
        errors=tuple(errors),
    )


def _boolean(value: Any) -> bool:
    """HCL booleans, and the strings "true"/"false" as Terraform converts them."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _first_block(value: Any) -> dict[str, Any] | None:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return value if isinstance(value, dict) else None


def _backend_type(parsed: dict[str, Any]) -> str | None:
    for terraform in parsed.get("terraform") or []:
        if not isinstance(terraform, dict):
            continue
        backends = terraform.get("backend") or []
        # HCL parses to a list of {label: body}; Terraform's JSON syntax writes one object.
        for backend in [backends] if isinstance(backends, dict) else backends:
            if isinstance(backend, dict) and backend:
                return str(next(iter(backend)))
    return None


def stack_of(path: str, stack_paths: list[str]) -> str | None:
    """The deepest stack directory that holds `path`."""
    holders = [sp for sp in stack_paths if sp == "." or path.startswith(sp + "/")]
    if not holders:
        return None
    return max(holders, key=lambda sp: -1 if sp == "." else sp.count("/"))
