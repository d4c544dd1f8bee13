"""The built-in `boundary` plan policy applies by default to every stack of a repository that
hands off to Argo CD, until an admin creates a `boundary` policy of their own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import db as database
from orchestrator.handoff.spec import HandoffSpec, RootSpec
from orchestrator.models import Base, Policy, PolicyEvaluation, Repository, Run, Stack
from orchestrator.policy import gates
from orchestrator.policy import store as policies
from orchestrator.policy.store import PolicyDraft
from orchestrator.runs import service
from orchestrator.runstate import RunKind
from orchestrator.settings import get_settings
from tests.unit.rows import add_stack

SPEC = HandoffSpec(
    repository="https://git.example.com/platform/gitops.git",
    root=RootSpec(repo_url="https://git.example.com/platform/addons.git", path="bootstrap"),
)
PLANS = Path(__file__).resolve().parents[2] / "data" / "plans"
ALLOW_ALL = "package stackrun.open\n\nallowed := true\n"


def _repository(db: Session, repository_id: int, name: str) -> None:
    db.add(
        Repository(
            id=repository_id,
            name=name,
            clone_url=f"file:///{name}",
            branch="main",
            provider="github",
            webhook_secret_enc=b"x",
        )
    )
    db.flush()


def _stack(
    db: Session,
    name: str,
    repository_id: int = 1,
    labels: list[str] | None = None,
    handoff: dict[str, Any] | None = None,
    deleted: bool = False,
) -> Stack:
    stack = Stack(
        id=f"r{repository_id}/{name}",
        repository_id=repository_id,
        path=name,
        name=name,
        labels=labels or [],
        handoff=handoff,
        deleted=deleted,
    )
    db.add(stack)
    db.flush()
    return stack


def _platform(db: Session) -> tuple[Stack, Stack]:
    """Repository 1: network, and bootstrap (labelled bootstrap) which hands off."""
    add_stack(db)
    network = _stack(db, "network")
    bootstrap = _stack(db, "bootstrap", labels=["bootstrap"], handoff=SPEC.to_json())
    return network, bootstrap


def _boundaries(chosen: list[Policy]) -> list[Policy]:
    return [p for p in chosen if p.builtin == "boundary"]


def test_every_stack_of_a_repository_that_hands_off_gets_the_default_boundary(
    db: Session,
) -> None:
    network, bootstrap = _platform(db)
    assert db.scalar(select(Policy.id)) is None
    for stack in (network, bootstrap):
        (default,) = policies.plan_policies(db, stack)
        assert default.builtin == "boundary" and default.type == "plan"
        assert default.body == policies.builtin_body("boundary")
        assert default.attach_labels == [] and default.version == 0
        assert default.name.startswith("boundary (default")
    assert db.scalar(select(Policy.id)) is None, "the default is never stored"


def test_a_repository_without_a_handoff_gets_no_default_boundary(db: Session) -> None:
    add_stack(db)
    network = _stack(db, "network")
    assert policies.plan_policies(db, network) == []


def test_a_handoff_in_another_repository_does_not_bring_the_boundary(db: Session) -> None:
    add_stack(db)
    network = _stack(db, "network")
    _repository(db, 2, "acme/platform")
    other = _stack(db, "bootstrap", repository_id=2, handoff=SPEC.to_json())
    assert policies.plan_policies(db, network) == []
    assert len(_boundaries(policies.plan_policies(db, other))) == 1


def test_a_deleted_stack_with_a_handoff_does_not_bring_the_boundary(db: Session) -> None:
    add_stack(db)
    network = _stack(db, "network")
    _stack(db, "bootstrap", handoff=SPEC.to_json(), deleted=True)
    assert policies.plan_policies(db, network) == []


def test_without_a_stack_there_is_no_default_boundary(db: Session) -> None:
    _platform(db)
    assert policies.plan_policies(db, None) == []


def test_the_default_boundary_comes_after_the_policies_attached_by_label(db: Session) -> None:
    network, _ = _platform(db)
    made = policies.create(db, PolicyDraft(name="open", type="plan", body=ALLOW_ALL), "admin")
    assert isinstance(made, Policy)
    chosen = policies.plan_policies(db, network)
    assert [(p.name, p.builtin) for p in chosen] == [("open", None), (chosen[1].name, "boundary")]
    assert chosen[1].name.startswith("boundary (default")


def test_an_admins_boundary_policy_replaces_the_default_where_its_labels_attach(
    db: Session,
) -> None:
    network, bootstrap = _platform(db)
    production = _stack(db, "eks", labels=["prod"])
    draft = PolicyDraft(name="cluster-boundary", builtin="boundary", attach_labels=("prod",))
    made = policies.create(db, draft, "root")
    assert isinstance(made, Policy), made
    assert made.builtin == "boundary" and made.type == "plan"

    assert [p.name for p in policies.plan_policies(db, production)] == ["cluster-boundary"]
    assert policies.plan_policies(db, network) == []
    assert policies.plan_policies(db, bootstrap) == []


def test_an_admins_boundary_policy_attached_everywhere_is_the_only_boundary(
    db: Session,
) -> None:
    network, _ = _platform(db)
    made = policies.create(db, PolicyDraft(name="my-boundary", builtin="boundary"), "root")
    assert isinstance(made, Policy), made
    (only,) = policies.plan_policies(db, network)
    assert (only.name, only.id) == ("my-boundary", made.id)


# --- the default through the gate after PLANNING, with the real engine ----------------------


@pytest.fixture
def stackrun_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process-wide database (`session_scope`), in a SQLite file of the test's own."""
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STACKRUN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    database.get_engine.cache_clear()
    database.get_sessionmaker.cache_clear()
    Base.metadata.create_all(database.get_engine())
    yield
    database.get_engine().dispose()
    database.get_engine.cache_clear()
    database.get_sessionmaker.cache_clear()
    get_settings.cache_clear()


def _namespace_plan() -> dict[str, Any]:
    """Creates kubernetes_namespace.apps (and leaves a service account as it is)."""
    plan: dict[str, Any] = json.loads((PLANS / "k8s-namespace-create.json").read_text())
    return plan


def _planned_run(stack_name: str, with_handoff: bool) -> int:
    """A tracked run of `stack_name` in repository 1, where bootstrap hands off or not."""
    with database.session_scope() as session:
        add_stack(session)
        _stack(session, "network")
        handoff = SPEC.to_json() if with_handoff else None
        _stack(session, "bootstrap", labels=["bootstrap"], handoff=handoff)
        run = service.create_run(
            session,
            service.NewRun(
                stack_id=f"r1/{stack_name}",
                kind=RunKind.TRACKED,
                commit_sha="a" * 40,
                branch="main",
                triggered_by="push:dev",
            ),
        )
        assert run is not None
        return run.id


def _evaluations(run_id: int) -> list[tuple[str, int, str]]:
    with database.session_scope() as session:
        rows = session.scalars(select(PolicyEvaluation).where(PolicyEvaluation.run_id == run_id))
        return [(r.policy, r.version, r.result) for r in rows]


ONE_ADD = {"add": 1, "change": 0, "destroy": 0}


@pytest.mark.usefixtures("stackrun_db")
def test_the_default_boundary_denies_an_in_cluster_change_outside_the_bootstrap_stack() -> None:
    run_id = _planned_run("network", with_handoff=True)

    gate = gates.after_plan(run_id, _namespace_plan(), ONE_ADD)

    assert gate.plan.decision == "deny"
    reason = gate.denied_reason
    assert reason is not None and "kubernetes_namespace.apps" in reason
    assert "kubernetes_service_account_v1.deployer" not in reason
    ((name, version, result),) = _evaluations(run_id)
    assert name.startswith("boundary (default") and (version, result) == (0, "deny")


@pytest.mark.usefixtures("stackrun_db")
def test_the_default_boundary_allows_the_stack_labelled_bootstrap() -> None:
    run_id = _planned_run("bootstrap", with_handoff=True)

    gate = gates.after_plan(run_id, _namespace_plan(), ONE_ADD)

    assert gate.plan.decision == "allow" and gate.denied_reason is None
    ((name, _, result),) = _evaluations(run_id)
    assert name.startswith("boundary (default") and result == "allow"


@pytest.mark.usefixtures("stackrun_db")
def test_without_a_handoff_an_in_cluster_change_is_not_judged() -> None:
    run_id = _planned_run("network", with_handoff=False)

    gate = gates.after_plan(run_id, _namespace_plan(), ONE_ADD)

    assert gate.plan.decision == "allow" and gate.denied_reason is None
    assert _evaluations(run_id) == []
    with database.session_scope() as session:
        assert session.get(Run, run_id) is not None
