"""Workers reach the orchestrator through one narrow door (issue 17): whatever modules the
orchestrator grows, a worker imports only the door, the settings and the toolchain."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOOR = ("orchestrator.worker_api", "orchestrator.settings", "orchestrator.toolchain")


def _named(tree: ast.AST) -> set[str]:
    """Every dotted name an import statement reaches: `from a.b import c` reaches `a.b.c`."""
    reached: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            reached.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            reached.update(alias.name for alias in node.names)
    return reached


def _outside_the_door(name: str) -> bool:
    if name.split(".")[0] != "orchestrator":
        return False
    return not any(name == door or name.startswith(door + ".") for door in DOOR)


def test_workers_import_only_the_door_settings_and_toolchain() -> None:
    reached = {
        (path.relative_to(ROOT).as_posix(), name)
        for path in sorted((ROOT / "workers").rglob("*.py"))
        for name in _named(ast.parse(path.read_text()))
        if _outside_the_door(name)
    }
    assert reached == set()


def test_the_door_check_sees_a_module_imported_from_its_package() -> None:
    tree = ast.parse(
        "from orchestrator.runs import claims\n"
        "from orchestrator import worker_api\n"
        "from orchestrator.worker_api import RunState\n"
        "from orchestrator import db, settings\n"
        "import orchestrator.models\n"
    )
    outside = {name for name in _named(tree) if _outside_the_door(name)}
    assert outside == {"orchestrator.runs.claims", "orchestrator.db", "orchestrator.models"}
