"""The import and ownership rules of DESIGN §2, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("orchestrator", "workers")


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize(
    ("library", "owner"),
    [("hcl2", "orchestrator/graph/hcl.py"), ("regopy", "orchestrator/policy/engine.py")],
)
def test_a_parser_library_is_imported_by_its_one_owner_only(library: str, owner: str) -> None:
    importers = {
        _relative(p)
        for p in _modules()
        if any(n == library or n.startswith(library + ".") for n in _imports(p))
    }
    assert importers <= {owner}


def test_orchestrator_never_imports_workers() -> None:
    offenders = [
        _relative(p)
        for p in (ROOT / "orchestrator").rglob("*.py")
        if any(n == "workers" or n.startswith("workers.") for n in _imports(p))
    ]
    assert offenders == []


def _writes_run_state(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "state" for t in targets):
                return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "values"
            and any(k.arg == "state" for k in node.keywords)
        ):
            return True
    return False


def test_only_the_run_service_writes_run_state() -> None:
    writers = {_relative(p) for p in _modules() if _writes_run_state(ast.parse(p.read_text()))}
    assert writers <= {"orchestrator/runs/service.py"}


def test_the_state_write_detector_sees_an_assignment() -> None:
    assert _writes_run_state(ast.parse("run.state = 'FINISHED'"))
    assert _writes_run_state(ast.parse("update(Run).values(state='FAILED')"))
    assert not _writes_run_state(ast.parse("x = run.state"))
