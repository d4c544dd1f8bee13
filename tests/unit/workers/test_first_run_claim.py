"""A push's first run claimed in the push's own transaction (orchestrator/worker_api/claim.py):
the worker that processed the push plans it at once with what the push's graph says of the
stack; a run of another pool, or one that cannot be claimed, keeps its doorbell."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator import db as database
from orchestrator.graph.model import Graph, StackNode
from orchestrator.graphstore.gate import StackAtCommit
from orchestrator.models import Run, Stack
from orchestrator.runs import service
from orchestrator.runs.pushes import Handled
from orchestrator.runs.queue import Doorbell
from orchestrator.runstate import RunKind, RunState
from orchestrator.worker_api import RunInputs, claim
from orchestrator.worker_api import inputs as inputs_module
from tests.unit.rows import queued_run


@pytest.fixture
def run_id(own_database: None) -> int:
    """A QUEUED tracked run of acme/p/vpc (folder vpc) in a SQLite file of the test's own."""
    with database.session_scope() as session:
        return queued_run(session)


def _graph(blockers: list[str] | None = None) -> Graph:
    node = StackNode(path="vpc", name="vpc", var_files=["vpc/prod.tfvars"])
    node.blockers = list(blockers or [])
    return Graph({"vpc": node}, [], [], [])


def _state(run_id: int) -> str:
    with database.session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run.state


def test_a_push_claims_its_first_run_with_the_stack_as_its_graph_has_it(run_id: int) -> None:
    other = Doorbell("plan_run", 999)
    bell = Doorbell("plan_run", run_id)
    with database.session_scope() as session:
        taken, left = claim.first_run(session, Handled([bell, other], (run_id,), _graph()), 60)
    assert taken is not None and taken.run_id == run_id and taken.credential
    assert taken.at_commit is not None and taken.at_commit.var_files == ("vpc/prod.tfvars",)
    assert left == [other], "its own doorbell is not rung; the others are"
    assert _state(run_id) == RunState.PREPARING


def test_a_graph_that_blocks_the_stack_travels_with_the_claim(run_id: int) -> None:
    bell = Doorbell("plan_run", run_id)
    handled = Handled([bell], (run_id,), _graph(["a link leaves the repository"]))
    with database.session_scope() as session:
        taken, _ = claim.first_run(session, handled, 60)
    assert taken is not None and taken.at_commit is not None
    assert taken.at_commit.blockers == ["a link leaves the repository"]


def test_a_run_of_another_pool_keeps_its_doorbell_and_stays_queued(run_id: int) -> None:
    bell = Doorbell("plan_run", run_id, queue="gpu")
    with database.session_scope() as session:
        taken, left = claim.first_run(session, Handled([bell], (run_id,), _graph()), 60)
    assert taken is None and left == [bell]
    assert _state(run_id) == RunState.QUEUED


def test_a_run_whose_stack_is_locked_keeps_its_doorbell(run_id: int) -> None:
    with database.session_scope() as session:
        stack = session.get(Stack, "acme/p/vpc")
        assert stack is not None
        holder = service.create_run(
            session, service.NewRun("acme/p/vpc", RunKind.TRACKED, "b" * 40, "main", "x")
        )
        assert holder is not None
        stack.locked_by_run_id = holder.id
    bell = Doorbell("plan_run", run_id)
    with database.session_scope() as session:
        taken, left = claim.first_run(session, Handled([bell], (run_id,), _graph()), 60)
    assert taken is None and left == [bell]
    assert _state(run_id) == RunState.QUEUED


def test_a_doorbell_for_a_run_of_another_pipeline_is_never_taken(run_id: int) -> None:
    bell = Doorbell("plan_run", run_id)
    with database.session_scope() as session:
        taken, left = claim.first_run(session, Handled([bell], (), _graph()), 60)
    assert taken is None and left == [bell]


class _Mirror:
    """Records what export_commit asks of the mirror."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def ensure_commit(self, sha: str) -> None:
        self.calls.append("fetch")

    def export(self, sha: str, root: Path) -> None:
        self.calls.append("export")


def _inputs_with(at_commit: StackAtCommit) -> RunInputs:
    return RunInputs(
        7,
        RunKind.TRACKED,
        "a" * 40,
        None,
        "acme/p/vpc",
        "vpc",
        True,
        None,
        (),
        None,
        1,
        at_commit=at_commit,
    )


def test_a_run_claimed_with_its_graph_is_exported_without_building_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(inputs_module, "mirror_of", lambda *_: _Mirror(calls))

    def rebuilt(*_: object) -> StackAtCommit:
        raise AssertionError("the graph was built again")

    monkeypatch.setattr(inputs_module, "_stack_at", rebuilt)
    found = inputs_module.export_commit(
        _inputs_with(StackAtCommit([], (), ("vpc/a.tfvars",))),
        tmp_path / "ws",
        lambda: calls.append("environment read"),
    )
    assert found.var_files == ("vpc/a.tfvars",)
    assert calls == ["environment read", "fetch", "export"]


def test_a_claims_graph_that_blocks_the_stack_fails_before_git_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(inputs_module, "mirror_of", lambda *_: _Mirror(calls))
    with pytest.raises(ValueError, match="cannot run at commit aaaaaaaaaaaa: a link leaves"):
        inputs_module.export_commit(
            _inputs_with(StackAtCommit(["a link leaves the repository"])),
            tmp_path / "ws",
            lambda: calls.append("environment read"),
        )
    assert calls == []


def test_a_claim_that_fails_halfway_leaves_the_run_queued_unlocked_and_rung(
    run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def load_fails(*_: object, **__: object) -> RunInputs:
        raise RuntimeError("reading the run's inputs failed")

    monkeypatch.setattr(claim, "load", load_fails)
    bell = Doorbell("plan_run", run_id)
    with database.session_scope() as session:
        service.update_run_fields(session, run_id)  # the push wrote before its claim
        taken, left = claim.first_run(session, Handled([bell], (run_id,), _graph()), 60)
    assert taken is None and left == [bell]
    assert _state(run_id) == RunState.QUEUED
    with database.session_scope() as session:
        stack = session.get(Stack, "acme/p/vpc")
        run = session.get(Run, run_id)
        assert stack is not None and stack.locked_by_run_id is None
        assert run is not None and run.lease_owner is None and run.plan_attempts == 0
