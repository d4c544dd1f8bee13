"""Which folders are stacks, and what a stack block says: a folder with a stack block or a
backend is a stack; so is one whose stackrun.hcl or Terraform fails to parse (unless it is only
a module). The block's settings are read by orchestrator/stackconfig. Pure."""

from __future__ import annotations

from typing import Any

from orchestrator.graph.model import StackNode
from orchestrator.graph.tree import Tree, is_terraform, is_tfvars, is_var_file, stack_file
from orchestrator.stackconfig import stack as stackconfig


def stack_node(tree: Tree, folder: str, is_module_source: bool) -> StackNode | None:
    """The stack of a folder as its files say, or None when the folder is not a stack."""
    files = tree.by_dir[folder]
    declared = files.get(stack_file(folder))
    block = declared.get("stack") if declared else None
    backend = next((f["backend"] for _, f in tree.tf_facts(folder) if "backend" in f), None)
    broken = [f["error"] for p, f in files.items() if "error" in f and not is_var_file(p)]
    if block is None and backend is None:
        stack_file_broken = declared is not None and "error" in declared
        guessed = broken and any(map(is_terraform, files)) and not is_module_source
        if not (stack_file_broken or guessed):
            return None
    block = block or {}
    node = StackNode(
        path=folder,
        name=str(block.get("name") or folder),
        labels=[str(x) for x in block.get("labels") or []],
        autodeploy=_boolean(block.get("autodeploy")),
        worker_pool=str(block.get("worker_pool") or "default"),
        trigger_always=_boolean(block.get("trigger_always")),
        backend_type=backend["type"] if backend else None,
        watch=[str(x) for x in as_list(block.get("watch"))],
        errors=[_located(e) for e in broken if not _waits_for_a_value_file(e)],
        block=block,
        settings=stackconfig.read(block),
    )
    node.backend_config = dict(backend["config"]) if backend else {}
    return node


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _located(error: dict[str, Any]) -> str:
    if error.get("line"):
        return f"{error['file']}:{error['line']}: {error['message']}"
    return f"{error['file']}: {error['message']}"


def _waits_for_a_value_file(error: dict[str, Any]) -> bool:
    """A limit (the stack is blocked instead), or a tfvars link to a file the commit does not
    hold (repositories ship `terraform.tfvars -> ../terraform.tfvars` for each user to create:
    an error on the graph naming the link, which does not make the stack run on every push;
    a change to the link or to the path it names does)."""
    if error.get("kind") == "limit":
        return True
    return error.get("kind") == "link" and is_tfvars(str(error.get("file") or ""))


def _boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True
