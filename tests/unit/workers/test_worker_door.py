"""Workers reach the orchestrator through one narrow door (issue 17): whatever modules the
orchestrator grows, a worker imports only the door, the settings and the toolchain."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOOR = {"orchestrator.runs.worker_api", "orchestrator.settings", "orchestrator.toolchain"}


def _orchestrator_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module in {"orchestrator", "orchestrator.runs"}:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] == "orchestrator"} - {
        "orchestrator",
        "orchestrator.runs",
    }


def test_workers_import_only_the_door_settings_and_toolchain() -> None:
    reached = {
        (p.relative_to(ROOT).as_posix(), name)
        for p in sorted((ROOT / "workers").rglob("*.py"))
        for name in _orchestrator_imports(p)
        if name not in DOOR
    }
    assert reached == set()


def test_the_door_check_sees_a_module_imported_from_its_package(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text(
        "from orchestrator.runs import coordinator, worker_api\nfrom orchestrator import db\n"
    )
    assert _orchestrator_imports(source) == {
        "orchestrator.runs.coordinator",
        "orchestrator.runs.worker_api",
        "orchestrator.db",
    }
