"""The report service on an in-memory database, sending to the GitHub/GitLab stand-in over real
HTTP: commit statuses only when they changed, one pull request comment created once and edited
in place (by the newest pipeline of the pull request), claims of due reports, a VCS that is
down or lost the comment, a repository that stopped reporting, policy denials and masking."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.artifacts.store import LocalStore, log_key
from orchestrator.models import (
    Pipeline,
    PolicyEvaluation,
    Repository,
    ReviewComment,
    Run,
    Stack,
    utcnow,
)
from orchestrator.reports import service as reports
from orchestrator.reports.due import mark_due
from orchestrator.runs import service as runs
from orchestrator.runstate import Allowed, RunKind, RunState
from orchestrator.settings import Settings, get_settings
from tests.support.vcs_api import Recorded, VcsApi
from tests.unit.rows import add_stack

TOKEN = "vcs-service-token-9876543210"
SHA = "c0ffee" + "1" * 34
NEWER_SHA = "beef" + "2" * 36
AWS_KEY_ID = "AKIA" + "QWERTYUIOPASDFGH"
PLANNED = (RunState.PREPARING, RunState.INITIALIZING, RunState.PLANNING)
ADD_ONE = {"add": 1, "change": 0, "destroy": 0}


def _log(stack: str, secret: str = "") -> str:
    """A run log as the worker writes it: stackrun's lines, then Terraform's plan output."""
    tags = f'\n      + tags = {{ "owner" = "{secret}" }}' if secret else ""
    return (
        f"stackrun: preparing acme/p/{stack}\n"
        "$ terraform init -input=false -no-color\n"
        "Terraform has been successfully initialized!\n"
        "$ terraform plan -input=false -no-color -out=plan.tfplan -detailed-exitcode\n"
        "null_resource.old: Refreshing state... [id=123]\n"
        "\n"
        "Terraform used the selected providers to generate the following execution plan.\n"
        "Resource actions are indicated with the following symbols:\n"
        "  + create\n"
        "\n"
        "Terraform will perform the following actions:\n"
        "\n"
        f"  # null_resource.{stack} will be created\n"
        f'  + resource "null_resource" "{stack}" {{\n'
        f"      + id = (known after apply){tags}\n"
        "    }\n"
        "\n"
        "Plan: 1 to add, 0 to change, 0 to destroy.\n"
        "$ terraform show -json plan.tfplan\n"
        "stackrun: plan {'add': 1, 'change': 0, 'destroy': 0}\n"
    )


@pytest.fixture(autouse=True)
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()


@pytest.fixture
def api() -> Iterator[VcsApi]:
    with VcsApi(token=TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        artifacts_url=f"file://{tmp_path / 'artifacts'}",
        api_url="http://stackrun.test",
        report_backoff_seconds=10,
        report_max_attempts=3,
    )


@pytest.fixture
def store(settings: Settings) -> LocalStore:
    """The store `deliver` reads run logs from (`open_store(settings)` opens the same root)."""
    return LocalStore(settings.data_dir / "artifacts")


def _factory(db: Session) -> reports.SessionFactory:
    """Each use of the factory sees the database afresh, as a new session would."""

    @contextmanager
    def same() -> Iterator[Session]:
        _afresh(db)
        yield db
        db.flush()

    return same


def _afresh(db: Session) -> None:
    """Flush, then forget what the session holds: a bulk UPDATE's in-session evaluation would
    otherwise compare the aware `now` with the naive timestamps SQLite gives back."""
    db.flush()
    db.expire_all()


def _claim(db: Session, now: datetime) -> list[int]:
    _afresh(db)
    return reports.claim_due(db, now)


def _reporting(db: Session, api: VcsApi, provider: str = "github") -> Repository:
    """Repository acme/p with stacks vpc and dns, reporting to the stand-in with TOKEN."""
    add_stack(db)
    db.add(Stack(id="acme/p/dns", repository_id=1, path="dns", name="dns"))
    repository = db.get(Repository, 1)
    assert repository is not None
    repository.provider = provider
    url = api.github_url if provider == "github" else api.gitlab_url
    assert repos.configure_reporting(repository, api_url=url, project=None, token=TOKEN) is None
    db.flush()
    return repository


def _pipeline(db: Session, sha: str = SHA, pr: int | None = 7) -> Pipeline:
    pipeline = Pipeline(
        repository_id=1,
        commit_sha=sha,
        branch="feature/x",
        kind=RunKind.PROPOSED,
        pr_number=pr,
        report_state="pending",
        report_due_at=utcnow(),
    )
    db.add(pipeline)
    db.flush()
    return pipeline


def _run(db: Session, pipeline: Pipeline, stack: str = "vpc") -> Run:
    run = runs.create_run(
        db,
        runs.NewRun(
            stack_id=f"acme/p/{stack}",
            kind=RunKind.PROPOSED,
            commit_sha=pipeline.commit_sha,
            branch=pipeline.branch,
            triggered_by="pull_request:dev",
            pipeline_id=pipeline.id,
            pr_number=pipeline.pr_number,
        ),
        dedupe=False,
    )
    assert run is not None
    return run


def _move(db: Session, run: Run, *states: RunState, **fields: Any) -> None:
    for state in states:
        decision = runs.transition(db, run.id, state, actor="test", **fields)
        assert isinstance(decision, Allowed), decision


def _plan(
    db: Session,
    run: Run,
    store: LocalStore,
    end: RunState = RunState.FINISHED,
    secret: str = "",
    failure_reason: str | None = None,
) -> None:
    """The run planned one resource to add (its log in the store), then ended in `end`."""
    _move(db, run, *PLANNED)
    runs.update_run_fields(db, run.id, plan_summary=ADD_ONE)
    stack = run.stack_id.rsplit("/", 1)[-1]
    store.put(log_key(run.id), _log(stack, secret).encode())
    fields = {"failure_reason": failure_reason} if failure_reason is not None else {}
    _move(db, run, end, **fields)


def _deliver(db: Session, pipeline: Pipeline, settings: Settings) -> bool:
    return reports.deliver(_factory(db), pipeline.id, settings)


def _fresh(db: Session, pipeline: Pipeline) -> Pipeline:
    _afresh(db)
    found = db.get(Pipeline, pipeline.id)
    assert found is not None
    return found


def _aware(moment: datetime | None) -> datetime:
    """SQLite hands timestamps back naive; they were written in UTC."""
    assert moment is not None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _posts(api: VcsApi) -> list[Recorded]:
    return [r for r in api.requests if r.method == "POST"]


def _deny(db: Session, run: Run, message: str) -> None:
    db.add(
        PolicyEvaluation(
            run_id=run.id,
            policy="guard",
            version=1,
            type="plan",
            result="deny",
            messages=[message],
        )
    )
    db.flush()


# -- statuses and the one comment -------------------------------------------------------------


def test_a_pipeline_reports_pending_then_only_changed_statuses_and_edits_its_one_comment(
    db: Session, api: VcsApi, settings: Settings, store: LocalStore
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db)
    vpc, dns = _run(db, pipeline, "vpc"), _run(db, pipeline, "dns")

    assert reports.deliver_due(_factory(db), settings) == 1
    first = [(s.context, s.state, s.sha) for s in api.statuses()]
    assert first == [("stackrun/vpc", "pending", SHA), ("stackrun/dns", "pending", SHA)]
    assert [s.target_url for s in api.statuses()] == [
        f"http://stackrun.test/api/v1/runs/{vpc.id}",
        f"http://stackrun.test/api/v1/runs/{dns.id}",
    ]
    assert (api.comment_posts, api.comment_edits) == (1, 0)
    (comment,) = api.comments().values()
    assert comment.number == 7 and comment.project == "acme/p"
    assert "<!-- stackrun:pipeline -->" in comment.body
    assert "| vpc | QUEUED | - | - | - | - |" in comment.body
    reported = _fresh(db, pipeline)
    assert (reported.report_state, reported.report_due_at) == ("ok", None)
    assert reported.comment_id == comment.id
    assert _claim(db, utcnow()) == [], "nothing is due after a delivery"

    _plan(db, vpc, store)
    _plan(db, dns, store)
    assert _fresh(db, pipeline).report_due_at is not None, "finished runs make the report due"
    assert reports.deliver_due(_factory(db), settings) == 1
    second = [(s.context, s.state) for s in api.statuses()[2:]]
    assert second == [("stackrun/vpc", "success"), ("stackrun/dns", "success")]
    assert {s.description for s in api.statuses()[2:]} == {"plan: +1 ~0 -0"}
    assert (api.comment_posts, api.comment_edits) == (1, 1)
    (edited,) = api.comments().values()
    assert edited.id == comment.id and edited.edits == 1
    assert "| vpc | FINISHED | 1 | 0 | 0 | - |" in edited.body
    assert "| dns | FINISHED | 1 | 0 | 0 | - |" in edited.body
    assert "null_resource.vpc will be created" in edited.body
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in edited.body
    assert "Refreshing state" not in edited.body and "stackrun: plan" not in edited.body

    requests_before = len(api.requests)
    assert reports.deliver_due(_factory(db), settings) == 0, "nothing changed: nothing is due"
    assert len(api.requests) == requests_before
    posts_before = len(_posts(api))
    assert _deliver(db, pipeline, settings), "a forced delivery is harmless"
    assert len(_posts(api)) == posts_before, "no status and no new comment is posted"
    assert len(api.statuses()) == 4 and api.comment_posts == 1
    (unchanged,) = api.comments().values()
    assert unchanged.body == edited.body


def test_a_status_that_did_not_change_is_not_sent_again(
    db: Session, api: VcsApi, settings: Settings, store: LocalStore
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db)
    vpc, dns = _run(db, pipeline, "vpc"), _run(db, pipeline, "dns")
    assert _deliver(db, pipeline, settings)
    db.refresh(vpc)
    assert vpc.reported_status == "pending|queued"

    _plan(db, vpc, store)
    assert _deliver(db, pipeline, settings)
    changed = [(s.context, s.state) for s in api.statuses()[2:]]
    assert changed == [("stackrun/vpc", "success")], "dns is still queued: not sent again"
    db.refresh(vpc)
    db.refresh(dns)
    assert (vpc.reported_status, dns.reported_status) == (
        "success|plan: +1 ~0 -0",
        "pending|queued",
    )

    _move(db, dns, RunState.PREPARING)
    assert _deliver(db, pipeline, settings)
    (running,) = api.statuses()[3:]
    assert (running.context, running.state, running.description) == (
        "stackrun/dns",
        "pending",
        "preparing",
    ), "GitHub has no 'running': a new description on the same state is sent"


# -- the newest pipeline of a pull request owns the comment ----------------------------------


def test_a_newer_pipeline_edits_the_comment_the_older_made_and_the_older_leaves_it(
    db: Session, api: VcsApi, settings: Settings
) -> None:
    _reporting(db, api)
    older = _pipeline(db, SHA)
    old_run = _run(db, older)
    assert _deliver(db, older, settings)
    (made,) = api.comments().values()
    assert _fresh(db, older).comment_id == made.id

    newer = _pipeline(db, NEWER_SHA)
    _run(db, newer)
    assert _deliver(db, newer, settings)
    assert (api.comment_posts, api.comment_edits) == (1, 1)
    (comment,) = api.comments().values()
    assert comment.id == made.id, "the newer pipeline inherits the comment"
    assert f"[{newer.id}]" in comment.body and NEWER_SHA[:12] in comment.body
    assert _fresh(db, newer).comment_id == made.id
    assert [s.sha for s in api.statuses()] == [SHA, NEWER_SHA]

    _move(db, old_run, RunState.DISCARDED, reason="superseded")
    assert _deliver(db, older, settings)
    late = api.statuses(sha=SHA)
    assert [(s.context, s.state, s.description) for s in late] == [
        ("stackrun/vpc", "pending", "queued"),
        ("stackrun/vpc", "error", "discarded"),
    ], "the older pipeline still reports its statuses (GitHub's word for canceled: error)"
    assert (api.comment_posts, api.comment_edits) == (1, 1), "it never touches the comment"
    assert _fresh(db, older).comment_id == made.id, "and still says which comment it wrote"
    (still,) = api.comments().values()
    assert still.body == comment.body
    assert not [r for r in api.requests if r.method == "PATCH" and r.status != 200]


def test_a_pipeline_that_lost_the_comment_while_writing_it_makes_the_newest_write_again(
    db: Session, api: VcsApi, settings: Settings
) -> None:
    _reporting(db, api)
    older = _pipeline(db, SHA)
    _run(db, older)
    newer: list[Pipeline] = []

    @contextmanager
    def newer_appears_after_the_picture() -> Iterator[Session]:
        yield db
        db.flush()
        if not newer:
            # A newer head of the pull request arrives while the older report is being sent.
            pipeline = _pipeline(db, NEWER_SHA)
            pipeline.report_due_at = None
            db.flush()
            newer.append(pipeline)

    assert reports.deliver(newer_appears_after_the_picture, older.id, settings)
    (comment,) = api.comments().values()
    assert f"[{older.id}]" in comment.body
    assert _fresh(db, newer[0]).report_due_at is not None, "the newest is due to write it again"
    assert _claim(db, utcnow()) == [newer[0].id]
    assert _deliver(db, newer[0], settings)
    (rewritten,) = api.comments().values()
    assert rewritten.id == comment.id and f"[{newer[0].id}]" in rewritten.body


# -- the VCS down, the comment gone ----------------------------------------------------------


def test_the_vcs_down_backs_off_leaves_the_runs_alone_then_gives_up_then_recovers(
    db: Session, api: VcsApi, settings: Settings
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db)
    run = _run(db, pipeline)
    run_updated_at = _aware(run.updated_at)
    api.fail(500)

    before = utcnow()
    assert reports.deliver(_factory(db), pipeline.id, settings) is False
    after = utcnow()
    db.refresh(run)
    assert (run.state, run.reported_status) == ("QUEUED", None)
    assert _aware(run.updated_at) == run_updated_at
    failing = _fresh(db, pipeline)
    assert (failing.report_state, failing.report_attempts) == ("failing", 1)
    assert "HTTP 500" in failing.report_error
    assert TOKEN not in failing.report_error
    due = _aware(failing.report_due_at)
    assert before + timedelta(seconds=10) <= due <= after + timedelta(seconds=10)
    assert api.requests == [] and len(api.refused) == 1
    assert all(TOKEN not in json.dumps(r.headers) for r in api.refused)
    assert _claim(db, after) == [], "backing off: not due yet"

    assert reports.deliver(_factory(db), pipeline.id, settings) is False
    second = _fresh(db, pipeline)
    assert (second.report_state, second.report_attempts) == ("failing", 2)
    assert _aware(second.report_due_at) - utcnow() > timedelta(seconds=15), "the wait doubles"

    assert reports.deliver(_factory(db), pipeline.id, settings) is False
    failed = _fresh(db, pipeline)
    assert (failed.report_state, failed.report_attempts, failed.report_due_at) == (
        "failed",
        3,
        None,
    )
    assert "HTTP 500" in failed.report_error and TOKEN not in failed.report_error
    shown = reports.view(failed)
    assert shown is not None and shown["state"] == "failed" and shown["next_attempt_at"] is None

    api.recover()
    mark_due(db, pipeline.id)
    assert _claim(db, utcnow()) == [pipeline.id]
    assert reports.deliver(_factory(db), pipeline.id, settings) is True
    recovered = _fresh(db, pipeline)
    assert (recovered.report_state, recovered.report_attempts, recovered.report_error) == (
        "ok",
        0,
        "",
    )
    assert recovered.report_due_at is None
    assert [s.state for s in api.statuses()] == ["pending"] and api.comment_posts == 1
    db.refresh(run)
    assert run.state == "QUEUED" and run.reported_status == "pending|queued"


def test_a_comment_deleted_on_the_vcs_is_created_anew_instead_of_failing(
    db: Session, api: VcsApi, settings: Settings, store: LocalStore
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db)
    run = _run(db, pipeline)
    assert _deliver(db, pipeline, settings)
    (first,) = api.comments().values()
    # The comment stackrun knows is gone: the stand-in never issued this id.
    known = db.get(ReviewComment, (1, 7))
    assert known is not None and known.comment_id == first.id
    known.comment_id = "999999"
    db.flush()
    _fresh(db, pipeline).comment_id = "999999"
    db.flush()

    _plan(db, run, store)
    assert _deliver(db, pipeline, settings)
    patches = [(r.path, r.status) for r in api.requests if r.method == "PATCH"]
    assert patches == [("/api/v3/repos/acme/p/issues/comments/999999", 404)]
    assert api.comment_posts == 2
    made = [c for c in api.comments().values() if c.id != first.id]
    assert len(made) == 1 and "| vpc | FINISHED | 1 | 0 | 0 |" in made[0].body
    row = db.get(ReviewComment, (1, 7))
    assert row is not None and row.comment_id == made[0].id
    delivered = _fresh(db, pipeline)
    assert (delivered.report_state, delivered.comment_id) == ("ok", made[0].id)
    assert delivered.report_attempts == 0 and delivered.report_error == ""

    assert _deliver(db, pipeline, settings)
    assert api.comment_posts == 2 and api.comments()[made[0].id].edits == 1


# -- claims, and a repository that stopped reporting -----------------------------------------


def test_a_due_pipeline_is_claimed_once_and_ones_not_due_or_not_reporting_never(
    db: Session, api: VcsApi
) -> None:
    _reporting(db, api)
    due = _pipeline(db, pr=1)
    later = _pipeline(db, pr=2)
    later.report_due_at = utcnow() + timedelta(minutes=5)
    silent = _pipeline(db, pr=3)
    silent.report_state, silent.report_due_at = None, None
    db.flush()
    _move(db, _run(db, silent), RunState.PREPARING)
    assert _fresh(db, silent).report_due_at is None, "a run of a silent pipeline marks nothing"

    now = utcnow()
    assert _claim(db, now) == [due.id]
    assert _claim(db, now) == [], "a second claim at the same time gets nothing"
    claimed = _fresh(db, due)
    assert _aware(claimed.report_due_at) == now + timedelta(seconds=reports.CLAIM_SECONDS)
    expired = now + timedelta(seconds=reports.CLAIM_SECONDS + 1)
    assert _claim(db, expired) == [due.id], "an expired claim is taken again"
    in_ten_minutes = now + timedelta(minutes=10)
    assert _claim(db, in_ten_minutes) == [due.id, later.id], "the longest due comes first"


def test_a_repository_without_a_vcs_token_any_more_stops_reporting_quietly(
    db: Session, api: VcsApi, settings: Settings
) -> None:
    repository = _reporting(db, api)
    pipeline = _pipeline(db)
    run = _run(db, pipeline)
    assert repos.configure_reporting(repository, api_url=None, project=None, token="") is None
    db.flush()

    assert reports.deliver_due(_factory(db), settings) == 1
    stopped = _fresh(db, pipeline)
    assert (stopped.report_state, stopped.report_due_at) == (None, None)
    assert reports.view(stopped) is None
    assert api.requests == [] and api.refused == []
    _move(db, run, RunState.PREPARING)
    assert _fresh(db, pipeline).report_due_at is None, "it is never due again"
    assert _claim(db, utcnow()) == []


# -- what the report says --------------------------------------------------------------------


def test_a_run_denied_by_plan_policy_fails_its_status_naming_the_message_and_the_comment_lists_it(
    db: Session, api: VcsApi, settings: Settings, store: LocalStore
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db)
    run = _run(db, pipeline)
    _deny(db, run, "x may not be created")
    _plan(db, run, store, end=RunState.FAILED, failure_reason="denied by plan policy guard")

    assert _deliver(db, pipeline, settings)
    (status,) = api.statuses()
    assert (status.context, status.state) == ("stackrun/vpc", "failure")
    assert status.description == "denied by policy: guard: x may not be created"
    (comment,) = api.comments().values()
    assert "| vpc | FAILED | 1 | 0 | 0 | deny |" in comment.body
    assert "- guard: x may not be created" in comment.body
    assert "null_resource.vpc will be created" in comment.body, "a denied plan is still shown"


def test_a_secret_looking_value_in_a_plan_never_reaches_the_comment(
    db: Session, api: VcsApi, settings: Settings, store: LocalStore
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db)
    run = _run(db, pipeline)
    _plan(db, run, store, secret=AWS_KEY_ID)
    assert AWS_KEY_ID in store.get(log_key(run.id)).decode()

    picture = reports.take_picture(db, pipeline.id, settings, store)
    assert picture is not None and picture.comment is not None
    assert AWS_KEY_ID not in picture.comment
    assert '+ tags = { "owner" = "***" }' in picture.comment

    assert _deliver(db, pipeline, settings)
    (comment,) = api.comments().values()
    assert AWS_KEY_ID not in comment.body and "***" in comment.body
    assert AWS_KEY_ID not in json.dumps([r.body for r in api.requests])


def test_a_secret_looking_value_in_a_policy_message_never_reaches_the_commit_status(
    db: Session, api: VcsApi, settings: Settings, store: LocalStore
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db)
    run = _run(db, pipeline)
    _deny(db, run, f"access key {AWS_KEY_ID} may not be committed")
    _plan(db, run, store, end=RunState.FAILED, failure_reason="denied by plan policy guard")

    assert _deliver(db, pipeline, settings)
    (comment,) = api.comments().values()
    assert AWS_KEY_ID not in comment.body
    (status,) = api.statuses()
    assert status.state == "failure"
    assert AWS_KEY_ID not in (status.description or "")
    assert AWS_KEY_ID not in json.dumps([r.body for r in api.requests])


# -- GitLab ----------------------------------------------------------------------------------


def test_a_gitlab_merge_request_gets_named_statuses_and_one_note_on_the_encoded_project(
    db: Session, api: VcsApi, settings: Settings, store: LocalStore
) -> None:
    _reporting(db, api, provider="gitlab")
    pipeline = _pipeline(db, pr=3)
    vpc, _dns = _run(db, pipeline, "vpc"), _run(db, pipeline, "dns")

    assert _deliver(db, pipeline, settings)
    statuses = api.statuses(provider="gitlab")
    assert [(s.project, s.context, s.state) for s in statuses] == [
        ("acme/p", "stackrun/vpc", "pending"),
        ("acme/p", "stackrun/dns", "pending"),
    ]
    status_posts = [r for r in api.requests if "/statuses/" in r.path]
    assert [r.path for r in status_posts] == [f"/api/v4/projects/acme%2Fp/statuses/{SHA}"] * 2
    assert [r.body["name"] for r in status_posts] == ["stackrun/vpc", "stackrun/dns"]
    assert all("context" not in r.body for r in status_posts)
    assert all(r.status == 201 for r in api.requests)
    (note_post,) = [r for r in api.requests if "/notes" in r.path]
    assert note_post.path == "/api/v4/projects/acme%2Fp/merge_requests/3/notes"
    (note,) = api.comments(provider="gitlab").values()
    assert (note.project, note.number) == ("acme/p", 3)
    assert "<!-- stackrun:pipeline -->" in note.body
    assert _fresh(db, pipeline).comment_id == note.id

    _plan(db, vpc, store, end=RunState.FAILED, failure_reason="terraform plan exited 1")
    assert _deliver(db, pipeline, settings)
    (failed,) = api.statuses(provider="gitlab")[2:]
    assert (failed.context, failed.state, failed.description) == (
        "stackrun/vpc",
        "failed",
        "failed: terraform plan exited 1",
    )
    edits = [r for r in api.requests if r.method == "PUT"]
    assert [r.path for r in edits] == [
        f"/api/v4/projects/acme%2Fp/merge_requests/3/notes/{note.id}"
    ]
    assert (api.comment_posts, api.comment_edits) == (1, 1)


def test_reports_of_pipelines_without_a_pull_request_send_statuses_only(
    db: Session, api: VcsApi, settings: Settings
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db, pr=None)
    _run(db, pipeline)
    assert _deliver(db, pipeline, settings)
    assert [s.state for s in api.statuses()] == ["pending"]
    assert api.comment_posts == 0 and db.scalars(select(ReviewComment)).all() == []
    delivered = _fresh(db, pipeline)
    assert (delivered.report_state, delivered.comment_id) == ("ok", None)


def test_a_comment_another_delivery_is_creating_is_left_to_it(
    db: Session, api: VcsApi, settings: Settings
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db)
    _run(db, pipeline)
    db.add(ReviewComment(repository_id=1, pr_number=7, comment_id=None, claimed_at=utcnow()))
    db.flush()
    assert _deliver(db, pipeline, settings)
    assert api.comment_posts == 0 and len(api.statuses(sha=SHA)) == 1
    assert _fresh(db, pipeline).report_due_at is not None, "due again to write its comment"


def test_a_rate_limited_report_comes_back_when_the_vcs_says(
    db: Session, api: VcsApi, settings: Settings
) -> None:
    _reporting(db, api)
    pipeline = _pipeline(db)
    _run(db, pipeline)
    api.fail(status=429, retry_after=60)
    before = utcnow()
    assert not _deliver(db, pipeline, settings)
    due = _fresh(db, pipeline).report_due_at
    assert due is not None
    wait = due.replace(tzinfo=UTC) - before
    assert timedelta(seconds=59) < wait < timedelta(seconds=62)


def test_a_report_that_crashes_never_holds_up_the_others(
    db: Session, api: VcsApi, settings: Settings
) -> None:
    _reporting(db, api)
    odd = Repository(
        id=2,
        name="acme/odd",
        clone_url="file:///odd",
        provider="bitbucket",
        webhook_secret_enc=b"x",
    )
    repos.configure_reporting(odd, api_url=api.github_url, project=None, token=TOKEN)
    db.add(odd)
    db.flush()
    broken = _pipeline(db, pr=1)
    broken.repository_id = 2
    healthy = _pipeline(db, pr=2)
    _run(db, healthy)
    db.flush()
    assert reports.deliver_due(_factory(db), settings) == 1
    assert [c.number for c in api.comments().values()] == [2]
    assert _fresh(db, broken).report_due_at is not None, "it stays claimed, then is tried again"
