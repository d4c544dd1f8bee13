"""The scope a module folder's expressions are evaluated in: its variables and locals, the
arguments of the call that instantiated it, and for a stack's root its tfvars files. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.graph.evaluate import Argument, Scope
from orchestrator.graph.tree import Tree, is_tfvars


def scope(tree: Tree, folder: str, arguments: Mapping[str, Argument] | None = None) -> Scope:
    variable_blocks: dict[str, str] = {}
    variable_values: dict[str, Any] = {}
    local_blocks: list[str] = []
    local_values: dict[str, Any] = {}
    first_file = folder
    for path, file_facts in tree.tf_facts(folder):
        first_file = path
        variable_blocks.update(file_facts.get("variables") or {})
        variable_values.update(file_facts.get("json_variables") or {})
        local_blocks.extend(file_facts.get("locals") or [])
        local_values.update(file_facts.get("json_locals") or {})
    return Scope(
        folder,
        first_file,
        variable_blocks,
        variable_values,
        local_blocks,
        local_values,
        dict(arguments or {}),
    )


def root_scope(tree: Tree, folder: str, var_files: tuple[str, ...] = ()) -> Scope:
    """The scope of a stack's root module: tfvars files override the variables' defaults,
    terraform.tfvars first, then the *.auto.tfvars in name order, then an environment's
    -var-file files in their order (Terraform's precedence)."""
    found = scope(tree, folder)
    files = tree.by_dir.get(folder, {})
    tfvars = sorted(
        (p for p, f in files.items() if "tfvars" in f),
        key=lambda p: (not p.endswith("terraform.tfvars"), p),
    )
    values = dict(found.variable_values)
    for path in tfvars:
        values.update(tree.facts[path]["tfvars"])
    for path in var_files:
        given = tree.facts.get(path, {})
        values.update(given.get("var_values") or given.get("tfvars") or {})
    found.variable_values = values
    broken = sorted(p for p, f in files.items() if "error" in f and is_tfvars(p))
    broken += [p for p in var_files if "error" in tree.facts.get(p, {})]
    found.broken_values = broken[0] if broken else None
    return found
