"""The stack graph of a repository at a commit (DESIGN §3), built from per-file facts: find the
stacks, check what they declare, match what they read to what they write, find the cycles.
Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.graph import blockers
from orchestrator.graph.analysis import Analysis, analysis
from orchestrator.graph.backends import duplicate_backend_warnings
from orchestrator.graph.edges import Linker, cycle_findings
from orchestrator.graph.facts import Facts
from orchestrator.graph.model import Graph, StackNode
from orchestrator.graph.tree import Tree, stack_file
from orchestrator.vcs.links import Links


def build(facts: Mapping[str, Facts], links: Links | None = None) -> Graph:
    """The graph of a tree given as {path: facts of that file} and its links (vcs/links.py)."""
    tree = Tree(facts, links or Links({}, {}, {}, {}))
    errors = [
        {"kind": "parse", **file_facts["error"]}
        for _, file_facts in sorted(facts.items())
        if "error" in file_facts
    ]
    analyses = _analyses(tree)
    stacks = {path: found.node for path, found in analyses.items()}
    for _, node in sorted(stacks.items()):
        errors.extend(_settings_errors(node))
    errors.extend(blockers.link_errors(tree.links))
    blockers.record(stacks, tree.links, tree.unread_by_dir)
    conflicts = duplicate_backend_warnings(stacks)
    linker = Linker(stacks)
    for path in sorted(analyses):
        stacks[path].local_reads = []
        for ref in analyses[path].refs:
            linker.connect(path, ref)
        linker.declared_edges(stacks[path])
    cycle_errors, cycle_warnings = cycle_findings(linker.edges, stacks)
    errors.extend(cycle_errors)
    conflicts.extend(cycle_warnings)
    return Graph(stacks, linker.edges, linker.unresolved, errors, tree.link_ends, conflicts)


def _analyses(tree: Tree) -> dict[str, Analysis]:
    """Every folder's stack, in path order."""
    module_sources = tree.module_source_dirs()
    found: dict[str, Analysis] = {}
    for folder in sorted(tree.by_dir):
        stack = analysis(tree, folder, folder in module_sources)
        if stack is not None:
            found[folder] = stack
    return found


def _settings_errors(node: StackNode) -> list[dict[str, Any]]:
    """Errors of the stack block's drift, hand-off and AWS settings, against stackrun.hcl."""
    file = stack_file(node.path)
    return [
        {"kind": error.kind, "file": file, "line": None, "message": error.message}
        for error in node.settings.errors
    ]
