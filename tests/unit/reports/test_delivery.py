"""Delivering a proposed pipeline's report on an in-memory database, to the GitHub/GitLab
stand-in over real HTTP: what is sent, what is not sent twice, one comment per pull request,
and a VCS that is down."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.artifacts.store import LocalStore, log_key
from orchestrator.models import Pipeline, PolicyEvaluation, Repository, ReviewComment, Run, utcnow
from orchestrator.reports import service as reports
from orchestrator.runs import service
from orchestrator.runs.state import RunKind, RunState
from orchestrator.settings import Settings, get_settings
from tests.support.vcs_api import VcsApi
from tests.unit.rows import add_stack

TOKEN = "vcs-unit-token-0123456789"
SHA = "d" * 40
LOG = """stackrun: planning acme/p/vpc
$ terraform plan -input=false -out=plan.tfplan
Terraform will perform the following actions:

  # null_resource.one will be created
  + resource "null_resource" "one" {
      + id = "AKIAABCDEFGHIJKLMNOP"
    }

Plan: 1 to add, 0 to change, 0 to destroy.
$ terraform show -json plan.tfplan
"""


@pytest.fixture(autouse=True)
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()


@pytest.fixture
def vcs() -> Iterator[VcsApi]:
    with VcsApi(token=TOKEN) as api:
        yield api


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        artifacts_url=f"file://{tmp_path / 'artifacts'}",
        api_url="http://stackrun.test",
        report_backoff_seconds=10,
        report_max_attempts=3,
    )


def _factory(db: Session) -> reports.SessionFactory:
    @contextmanager
    def same() -> Iterator[Session]:
        yield db
        db.flush()

    return same


def _reporting(db: Session, vcs: VcsApi, provider: str = "github") -> Repository:
    add_stack(db)
    repository = db.get(Repository, 1)
    assert repository is not None
    repository.provider = provider
    api_url = vcs.github_url if provider == "github" else vcs.gitlab_url
    assert repos.configure_reporting(repository, api_url=api_url, project=None, token=TOKEN) is None
    db.flush()
    return repository


def _pipeline(db: Session, pr: int | None = 4) -> Pipeline:
    pipeline = Pipeline(
        repository_id=1,
        commit_sha=SHA,
        branch="feature/x",
        kind=RunKind.PROPOSED,
        pr_number=pr,
        report_state="pending",
        report_due_at=utcnow(),
    )
    db.add(pipeline)
    db.flush()
    return pipeline


def _run(db: Session, pipeline: Pipeline) -> Run:
    run = service.create_run(
        db,
        service.NewRun(
            stack_id="acme/p/vpc",
            kind=RunKind.PROPOSED,
            commit_sha=SHA,
            branch="feature/x",
            triggered_by="pull_request:dev",
            pipeline_id=pipeline.id,
            pr_number=pipeline.pr_number,
        ),
        dedupe=False,
    )
    assert run is not None
    return run


def _plan(db: Session, run: Run, settings: Settings, end: RunState = RunState.FINISHED) -> None:
    for state in (RunState.PREPARING, RunState.INITIALIZING, RunState.PLANNING):
        service.transition(db, run.id, state, actor="test")
    service.update_run_fields(db, run.id, plan_summary={"add": 1, "change": 0, "destroy": 0})
    LocalStore(settings.data_dir / "artifacts").put(log_key(run.id), LOG.encode())
    service.transition(db, run.id, end, actor="test", failure_reason="denied by plan policy")


def _deliver(db: Session, pipeline: Pipeline, settings: Settings) -> bool:
    return reports.deliver(_factory(db), pipeline.id, settings)


def test_statuses_then_only_changes_and_one_comment_edited_in_place(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    _reporting(db, vcs)
    pipeline = _pipeline(db)
    run = _run(db, pipeline)
    assert _deliver(db, pipeline, settings)
    assert [(s.context, s.state) for s in vcs.statuses(sha=SHA)] == [("stackrun/vpc", "pending")]
    assert (vcs.comment_posts, vcs.comment_edits) == (1, 0)
    db.refresh(pipeline)
    assert (pipeline.report_state, pipeline.report_due_at) == ("ok", None)

    _plan(db, run, settings)
    assert _deliver(db, pipeline, settings)
    states = [s.state for s in vcs.statuses(sha=SHA)]
    assert states == ["pending", "success"]
    assert (vcs.comment_posts, vcs.comment_edits) == (1, 1)
    (comment,) = vcs.comments().values()
    assert "| vpc | FINISHED | 1 | 0 | 0 |" in comment.body
    assert "null_resource.one will be created" in comment.body

    assert _deliver(db, pipeline, settings)
    assert len(vcs.statuses(sha=SHA)) == 2, "an unchanged status is not sent again"


def test_a_newer_pipeline_of_the_pull_request_edits_the_comment_the_older_made(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    _reporting(db, vcs)
    older = _pipeline(db)
    _run(db, older)
    assert _deliver(db, older, settings)
    newer = _pipeline(db)
    _run(db, newer)
    assert _deliver(db, newer, settings)
    assert (vcs.comment_posts, vcs.comment_edits) == (1, 1)
    (comment,) = vcs.comments().values()
    assert f"[{newer.id}]" in comment.body
    assert _deliver(db, older, settings)
    assert vcs.comment_edits == 1, "an older pipeline never writes the comment again"


def test_a_comment_deleted_on_the_vcs_is_made_again(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    _reporting(db, vcs)
    pipeline = _pipeline(db)
    _run(db, pipeline)
    db.add(ReviewComment(repository_id=1, pr_number=4, comment_id="999999"))
    db.flush()
    assert _deliver(db, pipeline, settings)
    (comment,) = vcs.comments().values()
    row = db.get(ReviewComment, (1, 4))
    assert row is not None and row.comment_id == comment.id != "999999"


def test_a_comment_another_delivery_is_creating_is_left_to_it(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    _reporting(db, vcs)
    pipeline = _pipeline(db)
    _run(db, pipeline)
    db.add(ReviewComment(repository_id=1, pr_number=4, comment_id=None, claimed_at=utcnow()))
    db.flush()
    assert _deliver(db, pipeline, settings)
    assert vcs.comment_posts == 0 and len(vcs.statuses(sha=SHA)) == 1
    db.refresh(pipeline)
    assert pipeline.report_due_at is not None, "the pipeline is due again to write its comment"


def test_the_vcs_down_backs_off_keeps_the_runs_and_shows_the_error_then_recovers(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    _reporting(db, vcs)
    pipeline = _pipeline(db)
    run = _run(db, pipeline)
    vcs.fail(status=500)
    before = utcnow()
    assert not _deliver(db, pipeline, settings)
    db.refresh(pipeline)
    db.refresh(run)
    assert run.state == RunState.QUEUED
    assert (pipeline.report_state, pipeline.report_attempts) == ("failing", 1)
    assert "HTTP 500" in pipeline.report_error and TOKEN not in pipeline.report_error
    assert pipeline.report_due_at is not None
    wait = pipeline.report_due_at.replace(tzinfo=before.tzinfo) - before
    assert timedelta(seconds=9) < wait < timedelta(seconds=12)
    for _ in range(2):
        _deliver(db, pipeline, settings)
    db.refresh(pipeline)
    assert (pipeline.report_state, pipeline.report_due_at) == ("failed", None)
    vcs.recover()
    assert _deliver(db, pipeline, settings)
    db.refresh(pipeline)
    assert (pipeline.report_state, pipeline.report_attempts, pipeline.report_error) == (
        "ok",
        0,
        "",
    )
    assert vcs.comment_posts == 1


def test_a_claim_takes_a_due_pipeline_once_and_leaves_the_others(db: Session, vcs: VcsApi) -> None:
    _reporting(db, vcs)
    due = _pipeline(db)
    later = _pipeline(db)
    later.report_due_at = utcnow() + timedelta(minutes=5)
    silent = _pipeline(db)
    silent.report_state, silent.report_due_at = None, None
    db.flush()
    now = utcnow()
    assert reports.claim_due(db, now) == [due.id]
    assert reports.claim_due(db, now) == []


def test_a_repository_without_a_token_any_more_stops_reporting(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    repository = _reporting(db, vcs)
    pipeline = _pipeline(db)
    repos.configure_reporting(repository, api_url=None, project=None, token="")
    db.flush()
    assert _deliver(db, pipeline, settings)
    db.refresh(pipeline)
    assert pipeline.report_state is None and vcs.requests == []


def test_a_policy_deny_is_a_failure_status_naming_the_message_and_no_key_leaks(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    _reporting(db, vcs)
    pipeline = _pipeline(db)
    run = _run(db, pipeline)
    db.add(
        PolicyEvaluation(
            run_id=run.id,
            policy="guard",
            version=1,
            type="plan",
            result="deny",
            messages=["x may not be created"],
        )
    )
    _plan(db, run, settings, end=RunState.FAILED)
    assert _deliver(db, pipeline, settings)
    (status,) = vcs.statuses(sha=SHA)
    assert status.state == "failure"
    assert status.description == "denied by policy: guard: x may not be created"
    (comment,) = vcs.comments().values()
    assert "- guard: x may not be created" in comment.body
    assert "AKIAABCDEFGHIJKLMNOP" not in comment.body
    assert "AKIAABCDEFGHIJKLMNOP" not in json.dumps([r.body for r in vcs.requests])


def test_a_gitlab_merge_request_gets_named_statuses_and_one_note(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    _reporting(db, vcs, provider="gitlab")
    pipeline = _pipeline(db, pr=3)
    _run(db, pipeline)
    assert _deliver(db, pipeline, settings)
    (status,) = vcs.statuses(sha=SHA, provider="gitlab")
    assert (status.context, status.state, status.project) == ("stackrun/vpc", "pending", "acme/p")
    (note,) = vcs.comments(provider="gitlab").values()
    assert note.number == 3 and "<!-- stackrun:pipeline -->" in note.body


def test_a_report_that_crashes_never_holds_up_the_others(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    _reporting(db, vcs)
    odd = Repository(
        id=2,
        name="acme/odd",
        clone_url="file:///odd",
        provider="bitbucket",
        webhook_secret_enc=b"x",
    )
    repos.configure_reporting(odd, api_url=vcs.github_url, project=None, token=TOKEN)
    db.add(odd)
    db.flush()
    broken = _pipeline(db, pr=1)
    broken.repository_id = 2
    healthy = _pipeline(db, pr=2)
    _run(db, healthy)
    db.flush()
    assert reports.deliver_due(_factory(db), settings) == 1
    assert [c.number for c in vcs.comments().values()] == [2]
    db.refresh(broken)
    assert broken.report_due_at is not None, "the crashed report stays claimed, then retried"


def test_a_rate_limited_report_comes_back_when_the_vcs_says(
    db: Session, vcs: VcsApi, settings: Settings
) -> None:
    _reporting(db, vcs)
    pipeline = _pipeline(db)
    _run(db, pipeline)
    vcs.fail(status=429, retry_after=60)
    before = utcnow()
    assert not _deliver(db, pipeline, settings)
    db.refresh(pipeline)
    assert pipeline.report_due_at is not None
    wait = pipeline.report_due_at.replace(tzinfo=before.tzinfo) - before
    assert timedelta(seconds=59) < wait < timedelta(seconds=62)
