"""The stack graph of a repository at a commit (DESIGN §3), built from per-file facts: find the
stacks, check what they declare, match what they read to what they write, find the cycles.
Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.graph import blockers, relink
from orchestrator.graph.analysis import Analysis, analysis
from orchestrator.graph.backends import duplicate_backend_warnings
from orchestrator.graph.edges import cycle_findings
from orchestrator.graph.environments import Environment, conventional_names, environments
from orchestrator.graph.facts import Facts
from orchestrator.graph.model import Graph, StackNode
from orchestrator.graph.tree import Tree, is_var_file, stack_file
from orchestrator.vcs.links import Links


def build(
    facts: Mapping[str, Facts], links: Links | None = None, tree: Tree | None = None
) -> Graph:
    """The graph of a tree given as {path: facts of that file} and its links (vcs/links.py),
    or as the `tree` already indexed from them."""
    tree = tree or Tree(facts, links or Links({}, {}, {}, {}))
    errors: list[dict[str, Any]] = []
    analyses, held = _analyses(tree, errors)
    stacks = {address: found.node.copy() for address, found in analyses.items()}
    for address, node in stacks.items():
        node.environment_blockers = held[address]
    errors[:0] = _parse_errors(facts, tree.failed, stacks)
    for node in {node.path: node for _, node in sorted(stacks.items())}.values():
        errors.extend(_settings_errors(node))
    errors.extend(blockers.link_errors(tree.links))
    blockers.record(stacks, tree.links, tree.unread_by_dir)
    for node in stacks.values():
        node.cycle_blockers = []
    linking = relink.link(stacks, analyses)
    findings = linking.findings or _findings(linking, stacks)
    for error in findings.cycle_errors:  # a depends_on cycle blocks its own stacks
        for member in error["stacks"]:
            stacks[member].cycle_blockers.append(error["message"])
    errors.extend(findings.cycle_errors)
    conflicts = [*findings.duplicates, *findings.cycle_warnings]
    return Graph(stacks, linking.edges, linking.unresolved, errors, tree.link_ends, conflicts)


def _findings(linking: relink.Linking, stacks: Mapping[str, StackNode]) -> relink.Findings:
    cycle_errors, cycle_warnings = cycle_findings(linking.edges)
    found = relink.Findings(cycle_errors, cycle_warnings, duplicate_backend_warnings(stacks))
    relink.remember(linking, found)
    return found


def _analyses(
    tree: Tree, errors: list[dict[str, Any]]
) -> tuple[dict[str, Analysis], dict[str, list[str]]]:
    """Every folder's stack, or its instance in each of its environments, by address in path
    order, and what holds each back in its environment; the errors of environment
    declarations go to `errors` and block every stack of their folder."""
    module_sources = tree.module_source_dirs()
    known = conventional_names(tree)
    found: dict[str, Analysis] = {}
    held: dict[str, list[str]] = {}
    for folder in sorted(tree.by_dir):
        is_module_source = folder in module_sources
        stack = analysis(tree, folder, is_module_source)
        if stack is None:
            continue
        has_backend = stack.node.backend_type is not None
        declared = environments(tree, folder, stack.node.block, has_backend, known)
        errors.extend(declared.errors)
        folder_problems = [e["message"] for e in declared.errors]
        if not declared.found and _add(found, folder, stack, errors):
            held[folder] = folder_problems
        for environment in declared.found:
            errors.extend(_unreadable_files(folder, environment))
            instance = analysis(tree, folder, is_module_source, environment)
            assert instance is not None
            if _add(found, instance.node.address, instance, errors):
                held[instance.node.address] = [
                    *(f"environment {environment.name!r}: {p}" for p in environment.problems),
                    *folder_problems,
                ]
    return found, held


def _parse_errors(
    facts: Mapping[str, Facts], failed: list[str], stacks: Mapping[str, StackNode]
) -> list[Any]:
    """The files that fail to parse (`failed`, in path order); a `*.tfvars` only when an
    environment gives it to Terraform (it is read for nothing else)."""
    if not failed:
        return []
    named = {path for node in stacks.values() for path in node.var_files}
    return [
        {"kind": "parse", **facts[path]["error"]}
        for path in failed
        if not is_var_file(path) or path in named
    ]


def _add(
    found: dict[str, Analysis], address: str, stack: Analysis, errors: list[dict[str, Any]]
) -> bool:
    """A folder named like an instance (`app@dev` beside `app`'s environment dev) is refused
    rather than merged (False): an address names one stack."""
    if address in found:
        message = f"{stack.node.path} and {found[address].node.path} both make stack {address}"
        errors.append({"kind": "environment", "file": None, "line": None, "message": message})
        return False
    found[address] = stack
    return True


def _unreadable_files(folder: str, environment: Environment) -> list[dict[str, Any]]:
    return [
        {
            "kind": "environment",
            "file": stack_file(folder),
            "line": None,
            "message": f"environment {environment.name!r}: {problem}",
        }
        for problem in environment.problems
    ]


def _settings_errors(node: StackNode) -> list[dict[str, Any]]:
    """Errors of the stack block's drift, hand-off and AWS settings, against stackrun.hcl."""
    file = stack_file(node.path)
    return [
        {"kind": error.kind, "file": file, "line": None, "message": error.message}
        for error in node.settings.errors
    ]
