"""The hand-off service on an in-memory database: when a pipeline starts its hand-off (through
the run events), retries, claims, the reaper, the work itself against a real GitOps repository
(a bare repo reached over file://, no mocks) and the recorded outcome."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import git
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from orchestrator import upkeep
from orchestrator.auth import Principal
from orchestrator.handoff import actions as handoff_actions
from orchestrator.handoff import service as handoff
from orchestrator.handoff import trigger
from orchestrator.handoff.spec import HandoffSpec, RootSpec
from orchestrator.models import (
    AuditEntry,
    Handoff,
    NotificationDelivery,
    NotificationTarget,
    Pipeline,
    Run,
    Stack,
    utcnow,
)
from orchestrator.notifications import service as notifications
from orchestrator.runs import actions, advance, claims, outcomes, outputs, service
from orchestrator.runs.queue import Doorbell
from orchestrator.runstate import RunKind, RunState
from orchestrator.settings import Settings, get_settings
from tests.unit.rows import add_stack

NETWORK = "acme/p/vpc"
BOOTSTRAP = "acme/p/bootstrap"
DNS = "acme/p/dns"
POOL = "k8s-pool"
SHA = "a" * 40
ROOT = RootSpec(repo_url="https://git.example.com/acme/platform.git", path="bootstrap")
SPEC = HandoffSpec(repository="file:///nowhere/gitops.git", root=ROOT)
BRIDGE = {
    "cluster_name": "prod-eu",
    "server": "https://prod-eu.k8s.example.com",
    "labels": {"env": "prod", "region": "eu-west-1"},
    "annotations": {"aws_account_id": "123456789012", "role": "arn:aws:iam::1:role/x"},
}
SECRET = "a-signing-secret-of-16+"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Encryption keys (outputs, notification secrets) live under the test's own folder."""
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()


# --- rows and run drivers -------------------------------------------------------------------


def _stacks(db: Session, with_handoff: bool = True) -> None:
    """network (acme/p/vpc) and bootstrap, which declares the hand-off; both autodeploy."""
    add_stack(db, autodeploy=True)
    db.add(
        Stack(
            id=BOOTSTRAP,
            repository_id=1,
            path="bootstrap",
            name="bootstrap",
            autodeploy=True,
            worker_pool=POOL,
            handoff=SPEC.to_json() if with_handoff else None,
        )
    )
    db.flush()


def _pipeline(db: Session, sha: str = SHA) -> int:
    pipeline = Pipeline(repository_id=1, commit_sha=sha, branch="main")
    db.add(pipeline)
    db.flush()
    return pipeline.id


def _run(
    db: Session,
    stack_id: str,
    pipeline_id: int,
    sha: str = SHA,
    upstreams: tuple[int, ...] = (),
    reason: str = "",
) -> int:
    run = service.create_run(
        db,
        service.NewRun(
            stack_id=stack_id,
            kind=RunKind.TRACKED,
            commit_sha=sha,
            branch="main",
            triggered_by="push:dev",
            pipeline_id=pipeline_id,
            upstream_run_ids=upstreams,
            trigger_reason=reason,
        ),
    )
    assert run is not None
    return run.id


def _to_planning(db: Session, run_id: int) -> None:
    assert claims.claim_for_plan(db, run_id, lease_seconds=60) is not None
    claims.move(db, run_id, RunState.INITIALIZING, RunState.PREPARING, "init")
    claims.move(db, run_id, RunState.PLANNING, RunState.INITIALIZING, "plan")


def _apply(db: Session, run_id: int, terraform_outputs: dict[str, Any] | None = None) -> list[Any]:
    """Plan one addition, autodeploy, apply: the bells of the run becoming FINISHED."""
    _to_planning(db, run_id)
    one = {"add": 1, "change": 0, "destroy": 0}
    bells = outcomes.plan_done(db, run_id, one, [], "f" * 64)
    assert [b.task for b in bells] == ["apply_run"]
    run = claims.claim_for_apply(db, run_id, lease_seconds=60)
    assert run is not None
    outputs.store(db, run, terraform_outputs or {})
    return outcomes.apply_done(db, run_id)


def _bridge_outputs() -> dict[str, Any]:
    return {"gitops_bridge": {"value": BRIDGE, "sensitive": False}}


def _handoffs(db: Session, pipeline_id: int | None = None) -> list[Handoff]:
    query = select(Handoff).order_by(Handoff.id)
    if pipeline_id is not None:
        query = query.where(Handoff.pipeline_id == pipeline_id)
    return list(db.scalars(query.execution_options(populate_existing=True)))


def _handoff_bells(bells: list[Any]) -> list[Any]:
    return [b for b in bells if b.task == "handoff"]


def _state(db: Session, run_id: int) -> str:
    run = db.get(Run, run_id, populate_existing=True)
    assert run is not None
    return run.state


def _completed(db: Session, sha: str = SHA) -> tuple[int, int]:
    """A pipeline network → bootstrap that applied both: (pipeline id, bootstrap run id)."""
    pipeline_id = _pipeline(db, sha)
    network = _run(db, NETWORK, pipeline_id, sha)
    bootstrap = _run(db, BOOTSTRAP, pipeline_id, sha, upstreams=(network,))
    _apply(db, network)
    _apply(db, bootstrap, _bridge_outputs())
    return pipeline_id, bootstrap


# --- the trigger on run events ---------------------------------------------------------------


def test_the_last_run_of_a_pipeline_finishing_starts_exactly_one_pending_handoff(
    db: Session,
) -> None:
    _stacks(db)
    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    bootstrap = _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))

    after_network = _apply(db, network)
    assert _handoff_bells(after_network) == []
    assert [(b.task, b.target_id) for b in after_network] == [("plan_run", bootstrap)]
    assert _handoffs(db) == []

    bells = _apply(db, bootstrap, _bridge_outputs())
    (row,) = _handoffs(db)
    assert _handoff_bells(bells) == [Doorbell("handoff", row.id, POOL)]
    assert (row.pipeline_id, row.run_id, row.stack_id) == (pipeline_id, bootstrap, BOOTSTRAP)
    assert row.status == handoff.PENDING and row.started_at is None
    assert row.triggered_by == "stackrun"
    assert row.spec == SPEC.to_json()


def test_a_pipeline_finishing_again_starts_no_second_handoff(db: Session) -> None:
    _stacks(db)
    pipeline_id, bootstrap = _completed(db)
    assert len(_handoffs(db, pipeline_id)) == 1
    run = db.get(Run, bootstrap)
    assert run is not None
    assert _handoff_bells(advance.finished(db, run)) == []
    assert trigger.when_complete(db, pipeline_id) == []
    assert len(_handoffs(db, pipeline_id)) == 1


def test_a_finishing_run_writes_its_stack_before_it_locks_its_pipeline(db: Session) -> None:
    """Every writer locks runs, then stacks, then pipelines: a push (which writes stacks, then
    ends older runs of a pipeline) and a worker finishing a run never wait on each other."""
    _stacks(db)
    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()).upper())

    _to_planning(db, network)
    outcomes.plan_done(db, network, {"add": 1, "change": 0, "destroy": 0}, [], "f" * 64)
    assert claims.claim_for_apply(db, network, lease_seconds=60) is not None
    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        outcomes.apply_done(db, network)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    frees = next(i for i, s in enumerate(statements) if s.startswith("UPDATE STACKS"))
    locks = next(i for i, s in enumerate(statements) if "FROM PIPELINES" in s)
    assert frees < locks, statements[frees - 2 : locks + 2]


def test_no_handoff_while_another_run_of_the_pipeline_is_not_finished(db: Session) -> None:
    """bootstrap finishes first; the hand-off waits for dns, which is still queued."""
    _stacks(db)
    db.add(Stack(id=DNS, repository_id=1, path="dns", name="dns", autodeploy=True))
    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    bootstrap = _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))
    dns = _run(db, DNS, pipeline_id, upstreams=(network,))
    _apply(db, network)

    assert _handoff_bells(_apply(db, bootstrap, _bridge_outputs())) == []
    assert _state(db, bootstrap) == RunState.FINISHED and _state(db, dns) == RunState.QUEUED
    assert trigger.when_complete(db, pipeline_id) == []
    assert _handoffs(db) == []

    bells = _apply(db, dns)
    (row,) = _handoffs(db)
    assert _handoff_bells(bells) == [Doorbell("handoff", row.id, POOL)]


def test_no_handoff_when_an_upstream_failed_and_the_bootstrap_run_was_skipped(
    db: Session,
) -> None:
    _stacks(db)
    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    bootstrap = _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))
    _to_planning(db, network)

    bells = outcomes.fail(db, network, "terraform plan failed")

    assert _state(db, bootstrap) == RunState.SKIPPED
    assert _handoff_bells(bells) == []
    assert trigger.when_complete(db, pipeline_id) == []
    assert _handoffs(db) == []


def test_a_sibling_skipped_because_its_inputs_are_unchanged_counts_as_finished(
    db: Session,
) -> None:
    """dns reads network's zone_id, which did not change since dns last applied: it is
    SKIPPED ("inputs unchanged"), and that last event of the pipeline starts the hand-off."""
    _stacks(db)
    inputs = [{"name": "zone_id", "stack": NETWORK, "output": "zone_id"}]
    db.add(Stack(id=DNS, repository_id=1, path="dns", name="dns", autodeploy=True, inputs=inputs))
    db.flush()
    zone = {"zone_id": {"value": "Z123", "sensitive": False}}
    earlier = _pipeline(db, "e" * 40)
    old_network = _run(db, NETWORK, earlier, "e" * 40)
    old_dns = _run(db, DNS, earlier, "e" * 40, upstreams=(old_network,))
    _apply(db, old_network, zone)
    db_stack = db.get(Stack, DNS)
    assert db_stack is not None
    service.update_run_fields(db, old_dns, inputs_sha256=outputs.inputs_for(db, db_stack).digest)
    _apply(db, old_dns)

    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    bootstrap = _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))
    dns = _run(db, DNS, pipeline_id, upstreams=(network,), reason=f"downstream of {NETWORK}")
    _apply(db, network, zone)
    assert _handoff_bells(_apply(db, bootstrap, _bridge_outputs())) == []
    assert _handoffs(db) == []

    bells = claims.skip_if_inputs_unchanged(db, dns)

    assert bells is not None
    assert _state(db, dns) == RunState.SKIPPED
    (row,) = _handoffs(db)
    assert row.pipeline_id == pipeline_id
    assert _handoff_bells(bells) == [Doorbell("handoff", row.id, POOL)]


def test_a_sibling_skipped_for_another_reason_blocks_the_handoff(db: Session) -> None:
    _stacks(db)
    db.add(Stack(id=DNS, repository_id=1, path="dns", name="dns", autodeploy=True))
    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    bootstrap = _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))
    dns = _run(db, DNS, pipeline_id, upstreams=(network,))
    _apply(db, network)
    _apply(db, bootstrap, _bridge_outputs())

    service.transition(db, dns, RunState.SKIPPED, actor="pipeline", reason="ignored by policy")
    run = db.get(Run, dns)
    assert run is not None
    assert _handoff_bells(advance.finished(db, run)) == []
    assert _handoffs(db) == []


def test_a_pipeline_without_a_handoff_stack_creates_no_handoff(db: Session) -> None:
    _stacks(db, with_handoff=False)
    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    bootstrap = _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))
    _apply(db, network)
    bells = _apply(db, bootstrap, _bridge_outputs())
    assert _state(db, bootstrap) == RunState.FINISHED
    assert _handoff_bells(bells) == []
    assert trigger.when_complete(db, pipeline_id) == []
    assert _handoffs(db) == []


def _bootstrap_planned_twice(db: Session) -> tuple[int, int, int]:
    """network applied; bootstrap's plan lost its worker, the reaper failed it (worker_lost)
    and planned it once more (DESIGN notes), and that second attempt applied."""
    _stacks(db)
    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    lost = _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))
    _apply(db, network)
    assert claims.claim_for_plan(db, lost, lease_seconds=60) is not None
    service.renew_lease(db, lost, "w", -5)
    bells = upkeep.reap(db)
    (second,) = {b.target_id for b in bells if b.task == "plan_run"}
    assert _state(db, lost) == RunState.FAILED
    _apply(db, second, _bridge_outputs())
    assert _state(db, second) == RunState.FINISHED
    return pipeline_id, lost, second


def test_a_pipeline_whose_bootstrap_plan_was_retried_after_a_lost_worker_hands_off(
    db: Session,
) -> None:
    pipeline_id, _, second = _bootstrap_planned_twice(db)
    (row,) = _handoffs(db, pipeline_id)
    assert row.run_id == second


def test_an_admin_can_retry_the_handoff_of_a_pipeline_whose_plan_was_retried(
    db: Session,
) -> None:
    pipeline_id, _, second = _bootstrap_planned_twice(db)
    _fail_all(db)
    started = handoff.retry(db, pipeline_id, "ana")
    assert isinstance(started, Handoff), started
    assert started.run_id == second


def test_an_upstream_planned_again_after_a_lost_worker_does_not_block_the_handoff(
    db: Session,
) -> None:
    _stacks(db)
    pipeline_id = _pipeline(db)
    lost = _run(db, NETWORK, pipeline_id)
    bootstrap = _run(db, BOOTSTRAP, pipeline_id, upstreams=(lost,))
    assert claims.claim_for_plan(db, lost, lease_seconds=60) is not None
    service.renew_lease(db, lost, "w", -5)
    (second,) = {b.target_id for b in upkeep.reap(db) if b.task == "plan_run"}
    _apply(db, second)
    _apply(db, bootstrap, _bridge_outputs())
    assert _state(db, lost) == RunState.FAILED
    (row,) = _handoffs(db, pipeline_id)
    assert row.run_id == bootstrap


# --- retry ----------------------------------------------------------------------------------


def _fail_all(db: Session) -> None:
    for row in _handoffs(db):
        row.status = handoff.FAILED
        row.finished_at = utcnow()
    db.flush()


def test_retrying_an_unknown_pipeline_is_404(db: Session) -> None:
    _stacks(db)
    refused = handoff.retry(db, 999, "ana")
    assert isinstance(refused, handoff.Refused) and refused.status == 404
    assert "999" in refused.reason


def test_retrying_a_pipeline_without_a_handoff_stack_is_409(db: Session) -> None:
    _stacks(db, with_handoff=False)
    pipeline_id, _ = _completed(db)
    refused = handoff.retry(db, pipeline_id, "ana")
    assert isinstance(refused, handoff.Refused) and refused.status == 409
    assert "handoff" in refused.reason
    assert _handoffs(db) == []


def test_retrying_while_an_attempt_is_pending_is_409(db: Session) -> None:
    _stacks(db)
    pipeline_id, _ = _completed(db)
    (pending,) = _handoffs(db)
    refused = handoff.retry(db, pipeline_id, "ana")
    assert isinstance(refused, handoff.Refused) and refused.status == 409
    assert f"hand-off {pending.id}" in refused.reason and "pending" in refused.reason
    assert len(_handoffs(db)) == 1


def test_retrying_a_pipeline_whose_bootstrap_run_did_not_finish_is_409(db: Session) -> None:
    _stacks(db)
    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))
    _to_planning(db, network)
    outcomes.fail(db, network, "boom")
    refused = handoff.retry(db, pipeline_id, "ana")
    assert isinstance(refused, handoff.Refused) and refused.status == 409
    assert RunState.SKIPPED in refused.reason
    assert _handoffs(db) == []


def test_retrying_is_409_once_a_newer_pipeline_handed_the_stack_off(db: Session) -> None:
    _stacks(db)
    older, _ = _completed(db, "1" * 40)
    newer, _ = _completed(db, "2" * 40)
    assert [row.pipeline_id for row in _handoffs(db)] == [older, newer]
    _fail_all(db)
    refused = handoff.retry(db, older, "ana")
    assert isinstance(refused, handoff.Refused) and refused.status == 409
    assert f"pipeline {newer}" in refused.reason
    assert len(_handoffs(db)) == 2
    assert isinstance(handoff.retry(db, newer, "ana"), Handoff)


def test_a_retry_creates_a_new_pending_attempt_triggered_by_the_actor(db: Session) -> None:
    _stacks(db)
    pipeline_id, bootstrap = _completed(db)
    _fail_all(db)
    started = handoff.retry(db, pipeline_id, "ana")
    assert isinstance(started, Handoff)
    first, second = _handoffs(db, pipeline_id)
    assert second.id == started.id and first.status == handoff.FAILED
    assert second.status == handoff.PENDING and second.triggered_by == "ana"
    assert (second.run_id, second.stack_id) == (bootstrap, BOOTSTRAP)


def test_an_admin_retrying_a_handoff_rings_it_and_is_audited(db: Session) -> None:
    _stacks(db)
    pipeline_id, bootstrap = _completed(db)
    _fail_all(db)
    done = handoff_actions.retry_handoff(db, pipeline_id, Principal("root", "admin"))
    assert isinstance(done, actions.Done)
    new = _handoffs(db)[-1]
    assert new.triggered_by == "root" and new.status == handoff.PENDING
    assert (done.run_id, done.state) == (bootstrap, RunState.FINISHED)
    assert done.doorbells == (Doorbell("handoff", new.id, POOL),)
    (entry,) = db.scalars(select(AuditEntry).where(AuditEntry.action == "handoff.retry"))
    assert entry.actor == "root" and entry.target == f"pipeline:{pipeline_id}"
    assert entry.detail == {"handoff": new.id, "run": bootstrap}


def test_a_refused_admin_retry_is_passed_on_and_not_audited(db: Session) -> None:
    _stacks(db)
    pipeline_id, _ = _completed(db)
    refused = handoff_actions.retry_handoff(db, pipeline_id, Principal("root", "admin"))
    assert isinstance(refused, actions.Refusal) and refused.status == 409
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 0


# --- claim and reap -------------------------------------------------------------------------


def test_the_first_claim_gets_the_job_and_a_redelivered_task_gets_nothing(db: Session) -> None:
    _stacks(db)
    pipeline_id, bootstrap = _completed(db)
    (row,) = _handoffs(db)

    job = handoff.claim(db, row.id)

    assert job is not None
    assert (job.handoff_id, job.pipeline_id, job.run_id) == (row.id, pipeline_id, bootstrap)
    assert (job.stack_id, job.stack_name, job.repository) == (BOOTSTRAP, "bootstrap", "acme/p")
    assert job.commit_sha == SHA and job.spec == SPEC
    assert job.outputs == {"gitops_bridge": BRIDGE} and job.sensitive == frozenset()
    (claimed,) = _handoffs(db)
    assert claimed.started_at is not None and claimed.message == "in progress"
    assert handoff.claim(db, row.id) is None


def test_a_finished_handoff_is_never_claimed(db: Session) -> None:
    _stacks(db)
    _completed(db)
    _fail_all(db)
    (row,) = _handoffs(db)
    assert handoff.claim(db, row.id) is None
    assert handoff.claim(db, 12345) is None


def test_a_claim_reports_sensitive_outputs_by_name(db: Session) -> None:
    _stacks(db)
    pipeline_id = _pipeline(db)
    network = _run(db, NETWORK, pipeline_id)
    bootstrap = _run(db, BOOTSTRAP, pipeline_id, upstreams=(network,))
    _apply(db, network)
    _apply(db, bootstrap, {"gitops_bridge": {"value": BRIDGE, "sensitive": True}})
    (row,) = _handoffs(db)
    job = handoff.claim(db, row.id)
    assert job is not None
    assert job.sensitive == frozenset({"gitops_bridge"})
    assert job.outputs == {"gitops_bridge": BRIDGE}


def test_the_reaper_fails_a_started_handoff_whose_worker_was_lost(db: Session) -> None:
    _stacks(db)
    _completed(db, "1" * 40)
    _completed(db, "2" * 40)
    lost, alive = _handoffs(db)
    now = utcnow()
    lost.started_at = now - timedelta(hours=4)
    alive.started_at = now - timedelta(minutes=10)
    db.flush()

    rung = handoff.reap(db, now, unclaimed_after=30, lost_after=3 * 3600)

    assert rung == []
    lost, alive = _handoffs(db)
    assert lost.status == handoff.FAILED and lost.message.startswith("worker_lost")
    assert lost.finished_at is not None
    assert alive.status == handoff.PENDING and alive.finished_at is None


def test_the_reaper_rings_an_unclaimed_handoff_again_on_its_stacks_pool(db: Session) -> None:
    _stacks(db)
    _completed(db, "1" * 40)
    _completed(db, "2" * 40)
    stale, fresh = _handoffs(db)
    now = utcnow()
    stale.created_at = now - timedelta(minutes=5)
    fresh.created_at = now - timedelta(seconds=5)
    db.flush()

    rung = handoff.reap(db, now, unclaimed_after=30, lost_after=3 * 3600)

    assert rung == [(stale.id, POOL)]
    assert [row.status for row in _handoffs(db)] == [handoff.PENDING, handoff.PENDING]


def test_the_reapers_round_rings_unclaimed_handoffs(db: Session) -> None:
    _stacks(db)
    _completed(db)
    (row,) = _handoffs(db)
    row.created_at = utcnow() - timedelta(minutes=5)
    db.flush()
    assert Doorbell("handoff", row.id, POOL) in upkeep.reap(db)


# --- execute: the work against a real GitOps repository -------------------------------------


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """An empty bare repository standing for the GitOps remote."""
    path = tmp_path / "gitops.git"
    git.Repo.init(path, bare=True, initial_branch="main")
    return path


def _job(
    repository: str,
    outputs_: dict[str, Any] | None = None,
    sensitive: frozenset[str] = frozenset(),
    server: str | None = None,
    *,
    no_outputs: bool = False,
) -> handoff.Job:
    spec = HandoffSpec(repository=repository, root=ROOT, server=server)
    return handoff.Job(
        handoff_id=1,
        pipeline_id=7,
        run_id=11,
        commit_sha=SHA,
        stack_id=BOOTSTRAP,
        stack_name="bootstrap",
        repository="acme/p",
        repository_id=1,
        spec=spec,
        outputs=None if no_outputs else (outputs_ or {"gitops_bridge": BRIDGE}),
        sensitive=sensitive,
    )


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "worker", argocd_token=None)


def _branches(bare: Path) -> list[str]:
    return [head.name for head in git.Repo(bare).heads]


def _head(bare: Path) -> str:
    return str(git.Repo(bare).commit("main").hexsha)


def _tree(bare: Path) -> list[str]:
    tree = git.Repo(bare).commit("main").tree
    return sorted(str(item.path) for item in tree.traverse() if isinstance(item, git.Blob))


def test_a_valid_bridge_is_committed_then_unchanged_on_the_same_commit(
    bare: Path, tmp_path: Path
) -> None:
    job = _job(f"file://{bare}")

    first = handoff.execute(job, _settings(tmp_path))

    assert first.status == handoff.COMMITTED, first.message
    assert first.gitops_commit == _head(bare)
    assert first.argocd_app == "prod-eu-bootstrap"
    assert first.message.startswith(f"committed {first.gitops_commit[:12]} on main")
    assert _tree(bare) == [
        "clusters/prod-eu/cluster-secret.yaml",
        "clusters/prod-eu/root-applicationset.yaml",
    ]
    commit = git.Repo(bare).commit("main")
    assert "pipeline 7, run 11" in str(commit.message)
    assert commit.author.name == "stackrun"

    again = handoff.execute(job, _settings(tmp_path))

    assert again.status == handoff.UNCHANGED, again.message
    assert again.gitops_commit == first.gitops_commit == _head(bare)
    assert again.message.startswith("no change")
    assert len(list(git.Repo(bare).iter_commits("main"))) == 1


def test_a_stack_that_never_applied_fails_with_none_stored(bare: Path, tmp_path: Path) -> None:
    outcome = handoff.execute(_job(f"file://{bare}", no_outputs=True), _settings(tmp_path))
    assert outcome.status == handoff.FAILED
    assert "none stored" in outcome.message
    assert outcome.gitops_commit is None
    assert _branches(bare) == []


def test_a_sensitive_bridge_output_is_never_committed(bare: Path, tmp_path: Path) -> None:
    job = _job(f"file://{bare}", sensitive=frozenset({"gitops_bridge"}))
    outcome = handoff.execute(job, _settings(tmp_path))
    assert outcome.status == handoff.FAILED
    assert "sensitive" in outcome.message and "gitops_bridge" in outcome.message
    assert _branches(bare) == []


def test_another_sensitive_output_does_not_stop_the_handoff(bare: Path, tmp_path: Path) -> None:
    job = _job(f"file://{bare}", sensitive=frozenset({"kubeconfig"}))
    outcome = handoff.execute(job, _settings(tmp_path))
    assert outcome.status == handoff.COMMITTED, outcome.message


def test_an_invalid_label_value_fails_naming_the_key(bare: Path, tmp_path: Path) -> None:
    bridge = {**BRIDGE, "labels": {"env": "prod", "team": "platform/infra"}}
    outcome = handoff.execute(
        _job(f"file://{bare}", {"gitops_bridge": bridge}), _settings(tmp_path)
    )
    assert outcome.status == handoff.FAILED
    assert outcome.message.startswith("reading output gitops_bridge of stack 'bootstrap'")
    assert "'team'" in outcome.message and "'env'" not in outcome.message
    assert outcome.gitops_commit is None
    assert _branches(bare) == []


def test_an_unreachable_repository_fails_publishing(tmp_path: Path) -> None:
    missing = f"file://{tmp_path / 'missing.git'}"
    outcome = handoff.execute(_job(missing), _settings(tmp_path))
    assert outcome.status == handoff.FAILED
    assert outcome.message.startswith("publishing to the GitOps repository:")
    assert outcome.gitops_commit is None


def test_a_server_without_a_token_fails_after_publishing(bare: Path, tmp_path: Path) -> None:
    job = _job(f"file://{bare}", server="https://argocd.example.com")
    outcome = handoff.execute(job, _settings(tmp_path))
    assert outcome.status == handoff.FAILED
    assert "STACKRUN_ARGOCD_TOKEN" in outcome.message
    assert outcome.message.startswith("committed ")
    assert outcome.gitops_commit is not None and outcome.gitops_commit == _head(bare)
    assert outcome.argocd_app == "prod-eu-bootstrap"


# --- finish: the recorded outcome and its notification --------------------------------------


def _target(db: Session, events: list[str]) -> int:
    made = notifications.create_target(db, "http://127.0.0.1:9/hook", events, SECRET, 1, "t")
    assert isinstance(made, NotificationTarget)
    return made.id


def _claimed(db: Session) -> handoff.Job:
    _stacks(db)
    _completed(db)
    (row,) = _handoffs(db)
    job = handoff.claim(db, row.id)
    assert job is not None
    return job


def _deliveries(db: Session) -> list[tuple[int, str]]:
    rows = db.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))
    return [(d.target_id, d.event) for d in rows]


def test_a_failed_handoff_is_recorded_and_notified(db: Session) -> None:
    job = _claimed(db)
    failed = _target(db, ["handoff.failed"])
    _target(db, ["handoff.finished"])

    handoff.finish(db, job, handoff.Outcome(handoff.FAILED, "why it failed", "c" * 40, "app"))

    (row,) = _handoffs(db)
    assert (row.status, row.message) == (handoff.FAILED, "why it failed")
    assert (row.gitops_commit, row.argocd_app) == ("c" * 40, "app")
    assert row.finished_at is not None
    assert _deliveries(db) == [(failed, "handoff.failed")]
    delivery = db.scalars(select(NotificationDelivery)).one()
    assert "why it failed" in delivery.text and delivery.detail["id"] == row.id


def test_a_committed_handoff_is_recorded_and_notified_as_finished(db: Session) -> None:
    job = _claimed(db)
    _target(db, ["handoff.failed"])
    finished = _target(db, ["handoff.finished"])
    disabled = _target(db, ["handoff.finished"])
    target = db.get(NotificationTarget, disabled)
    assert target is not None
    target.enabled = False

    handoff.finish(db, job, handoff.Outcome(handoff.COMMITTED, "committed it", "d" * 40))

    (row,) = _handoffs(db)
    assert (row.status, row.gitops_commit) == (handoff.COMMITTED, "d" * 40)
    assert row.finished_at is not None
    assert _deliveries(db) == [(finished, "handoff.finished")]
