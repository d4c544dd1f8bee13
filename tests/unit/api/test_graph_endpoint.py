"""GET /api/v1/repositories/{id}/graph serves the graph the last processed push stored: a
viewer's request never fetches, scans nor parses (issue 16: a 1.4 MB file once cost 16 s of API
time per view)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator import db as database
from orchestrator.models import GraphSnapshot
from tests.unit.api.conftest import Api
from tests.unit.rows import add_stack

STORED: dict[str, Any] = {"stacks": [{"path": "vpc"}], "edges": [], "errors": []}
PARSERS = (
    "orchestrator.graph.scan.top_blocks",
    "orchestrator.graph.hcl.parse",
    "orchestrator.graph.facts.extract",
    "orchestrator.graph.load.graph_of_commit",
    "orchestrator.graph.build.build",
)


def _never(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a viewer's request parsed")


def test_a_viewer_gets_the_stored_graph_and_nothing_is_parsed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.session_scope() as session:
        add_stack(session)
        session.add(GraphSnapshot(repository_id=1, commit_sha="a" * 40, graph=STORED))
    for name in PARSERS:
        monkeypatch.setattr(name, _never)
    answer = api.client.get("/api/v1/repositories/1/graph", headers=api.auth("viewer"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["commit"] == "a" * 40
    assert answer.json()["stacks"] == STORED["stacks"]
