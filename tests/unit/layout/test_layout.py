"""The shape of the code (DESIGN §2) as tests over its syntax trees: no package of
`orchestrator` imports, through others, a package that imports it back; no module over 400
lines; no function over 50 lines (migrations aside)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ("orchestrator", "workers")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 50


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in SOURCES:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _package(module: str) -> str:
    """`orchestrator.runs.claims` → `orchestrator.runs`; `orchestrator.cli` stays itself."""
    return ".".join(module.split(".")[:2])


def _imported(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@cache
def package_graph() -> dict[str, frozenset[str]]:
    """Which orchestrator packages each orchestrator package imports (any module, any depth)."""
    modules = _modules()
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        if not name.startswith("orchestrator."):
            continue
        source = _package(name)
        for target in _imported(ast.parse(path.read_bytes())):
            inside = target in modules and target.startswith("orchestrator.")
            if inside and _package(target) != source:
                edges.setdefault(source, set()).add(_package(target))
    return {source: frozenset(targets) for source, targets in edges.items()}


def cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(set(graph) | {t for ts in graph.values() for t in ts}):
        if node not in index:
            visit(node)
    return groups


def test_cycles_finds_a_loop_through_three_packages_and_not_a_chain() -> None:
    loop = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"})}
    chain = {"a": frozenset({"b"}), "b": frozenset({"c"})}
    assert cycles(loop) == [["a", "b", "c"]]
    assert cycles(chain) == []


def test_no_package_of_the_orchestrator_imports_itself_through_others() -> None:
    found = cycles(package_graph())
    assert found == [], f"package import cycles: {found}"


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _modules().values()
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert long == {}, f"modules over {MAX_FILE_LINES} lines (split by responsibility): {long}"


def test_no_function_is_over_50_lines() -> None:
    long: dict[str, int] = {}
    for path in _modules().values():
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}, f"functions over {MAX_FUNCTION_LINES} lines (each does two jobs): {long}"
