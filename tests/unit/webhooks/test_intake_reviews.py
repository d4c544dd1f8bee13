"""Pull and merge request deliveries through intake, on an in-memory database: stored as
events to propose, ignored when they change no code, refused when malformed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.models import Event, Repository
from orchestrator.settings import get_settings
from orchestrator.webhooks import github
from orchestrator.webhooks.intake import receive_github, receive_gitlab

DATA = Path(__file__).resolve().parents[2] / "data" / "webhooks"
SECRET = "a-webhook-secret"
HEAD = "c" * 40


@pytest.fixture(autouse=True)
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()


def _repository(db: Session, name: str, provider: str) -> Repository:
    url = f"https://git.example.com/{name}.git"
    made = repos.register(
        db, name=name, clone_url=url, branch="main", provider=provider, secret=SECRET
    )
    assert isinstance(made, Repository)
    return made


def _pull_request(action: str = "opened") -> dict[str, Any]:
    payload = json.loads((DATA / "github-pull-request-opened.json").read_text())
    payload["action"] = action
    payload["pull_request"]["number"] = 12
    payload["pull_request"]["head"]["sha"] = HEAD
    payload["pull_request"]["head"]["ref"] = "feature/net"
    payload["pull_request"]["head"]["repo"]["full_name"] = "acme/platform"
    payload["repository"]["full_name"] = "acme/platform"
    return dict(payload)


def _github(db: Session, payload: dict[str, Any], delivery: str = "d-1") -> Any:
    body = json.dumps(payload).encode()
    headers = {
        "x-hub-signature-256": github.sign(SECRET, body),
        "x-github-event": "pull_request",
        "x-github-delivery": delivery,
    }
    return receive_github(db, headers, body)


def _gitlab(db: Session, payload: dict[str, Any], delivery: str) -> Any:
    headers = {
        "x-gitlab-token": SECRET,
        "x-gitlab-event": "Merge Request Hook",
        "x-gitlab-event-uuid": delivery,
    }
    return receive_gitlab(db, headers, json.dumps(payload).encode())


def _merge_request(action: str, oldrev: str | None) -> dict[str, Any]:
    payload = copy.deepcopy(json.loads((DATA / "gitlab-merge-request.json").read_text()))
    payload["project"]["path_with_namespace"] = "acme/gl"
    attributes = payload["object_attributes"]
    attributes.update({"iid": 3, "action": action, "source_branch": "feature/mr"})
    attributes["last_commit"]["id"] = HEAD
    attributes.pop("oldrev", None)
    if oldrev:
        attributes["oldrev"] = oldrev
    return dict(payload)


def test_an_opened_pull_request_is_stored_as_an_event_to_propose(db: Session) -> None:
    _repository(db, "acme/platform", "github")
    outcome = _github(db, _pull_request())
    assert outcome.status == 202, outcome.body
    event = db.get(Event, outcome.event_id)
    assert event is not None
    assert (event.event_type, event.action, event.pr_number) == ("pull_request", "opened", 12)
    assert (event.ref, event.after_sha, event.status) == (
        "refs/heads/feature/net",
        HEAD,
        "received",
    )


def test_a_closed_pull_request_is_stored_to_end_its_runs(db: Session) -> None:
    _repository(db, "acme/platform", "github")
    outcome = _github(db, _pull_request("closed"))
    assert outcome.status == 202
    event = db.get(Event, outcome.event_id)
    assert event is not None and event.action == "closed"


def test_a_labeled_pull_request_changes_no_code_and_is_ignored(db: Session) -> None:
    _repository(db, "acme/platform", "github")
    outcome = _github(db, _pull_request("labeled"))
    assert outcome.status == 200 and outcome.body["status"] == "ignored"
    assert "labeled" in outcome.body["reason"]
    assert db.scalars(select(Event.status)).all() == ["ignored"]


def test_a_malformed_pull_request_is_refused_naming_the_field_and_stores_nothing(
    db: Session,
) -> None:
    _repository(db, "acme/platform", "github")
    payload = _pull_request()
    payload["pull_request"]["head"]["sha"] = "not-a-sha"
    outcome = _github(db, payload)
    assert outcome.status == 422
    assert "pull_request.head.sha" in outcome.body["detail"]
    assert db.scalars(select(Event)).all() == []


def test_a_redelivered_pull_request_event_is_a_duplicate(db: Session) -> None:
    _repository(db, "acme/platform", "github")
    assert _github(db, _pull_request(), delivery="same").status == 202
    again = _github(db, _pull_request(), delivery="same")
    assert again.status == 200 and again.body["status"] == "duplicate"


def test_a_gitlab_merge_request_with_new_commits_proposes_and_a_title_edit_does_not(
    db: Session,
) -> None:
    _repository(db, "acme/gl", "gitlab")
    opened = _gitlab(db, _merge_request("update", oldrev="d" * 40), "u-1")
    assert opened.status == 202, opened.body
    event = db.get(Event, opened.event_id)
    assert event is not None
    assert (event.event_type, event.action, event.pr_number) == ("merge_request", "synchronize", 3)
    edited = _gitlab(db, _merge_request("update", oldrev=None), "u-2")
    assert edited.status == 200 and edited.body["status"] == "ignored"


def _from_fork(payload: dict[str, Any]) -> dict[str, Any]:
    payload["pull_request"]["head"]["ref"] = "main"
    payload["pull_request"]["head"]["repo"]["full_name"] = "someone/platform"
    payload["pull_request"]["head"]["repo"]["clone_url"] = "https://github.com/someone/platform.git"
    return payload


def test_a_pull_request_from_a_fork_is_not_planned_unless_the_repository_allows_it(
    db: Session,
) -> None:
    _repository(db, "acme/platform", "github")
    outcome = _github(db, _from_fork(_pull_request()))
    assert outcome.status == 200 and outcome.body["status"] == "ignored"
    assert "from a fork" in outcome.body["reason"] and "plan_fork_prs" in outcome.body["reason"]
    stored = db.scalars(select(Event)).all()
    assert [(e.status, e.pr_number) for e in stored] == [("ignored", 12)]


def test_closing_a_pull_request_from_a_fork_is_still_handled(db: Session) -> None:
    _repository(db, "acme/platform", "github")
    outcome = _github(db, _from_fork(_pull_request("closed")))
    assert outcome.status == 202, outcome.body


def test_a_pull_request_from_a_fork_is_named_by_its_pull_ref_not_the_forks_branch(
    db: Session,
) -> None:
    _repository(db, "acme/platform", "github").plan_fork_prs = True
    outcome = _github(db, _from_fork(_pull_request()))
    assert outcome.status == 202, outcome.body
    event = db.get(Event, outcome.event_id)
    assert event is not None and event.ref == "refs/pull/12/head"
