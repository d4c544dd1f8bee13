"""The stack table follows the graph at a pushed commit (orchestrator/stacks/service.py): the
rows of every stack read at once, new stacks created, known ones described again, vanished
ones marked deleted; a proposal creates its new stacks hidden and leaves known ones alone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from orchestrator.graph.model import Graph, StackNode
from orchestrator.models import Repository, Stack
from orchestrator.stacks.service import known_stacks, upsert_stacks
from tests.unit.rows import add_stack


def _graph(*nodes: StackNode) -> Graph:
    return Graph(stacks={n.path: n for n in nodes}, edges=[], unresolved=[], errors=[])


def _repository(db: Session) -> Repository:
    add_stack(db)  # acme/p and its stack acme/p/vpc
    repository = db.get(Repository, 1)
    assert repository is not None
    return repository


def _stack_selects(db: Session) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("SELECT") and "FROM stacks" in statement:
            seen.append(statement)

    event.listen(db.get_bind(), "before_cursor_execute", record)
    return seen


def test_a_push_creates_new_stacks_describes_known_ones_and_marks_vanished_ones(
    db: Session,
) -> None:
    repository = _repository(db)
    db.add(Stack(id="acme/p/gone", repository_id=1, path="gone", name="gone"))
    db.flush()
    graph = _graph(
        StackNode(path="vpc", name="network", labels=["core"]),
        StackNode(path="app", name="app", autodeploy=True),
        StackNode(path="db", name="db"),
    )
    selects = _stack_selects(db)
    stacks = upsert_stacks(db, repository, graph)
    # the graph's rows in one query, the repository's live rows in another
    assert len(selects) == 2, selects
    assert {a: s.id for a, s in stacks.items()} == {
        "vpc": "acme/p/vpc",
        "app": "acme/p/app",
        "db": "acme/p/db",
    }
    vpc = db.get(Stack, "acme/p/vpc")
    assert vpc is not None and (vpc.name, vpc.labels, vpc.deleted) == ("network", ["core"], False)
    app = db.get(Stack, "acme/p/app")
    assert app is not None and app.autodeploy and not app.deleted
    gone = db.get(Stack, "acme/p/gone")
    assert gone is not None and gone.deleted


def test_a_proposal_adds_its_new_stacks_hidden_and_leaves_known_ones_alone(db: Session) -> None:
    repository = _repository(db)
    graph = _graph(StackNode(path="vpc", name="renamed"), StackNode(path="new", name="new"))
    stacks = known_stacks(db, repository, graph)
    assert stacks["vpc"].name == "vpc"
    new = stacks["new"]
    assert (new.id, new.deleted, new.autodeploy) == ("acme/p/new", True, False)
