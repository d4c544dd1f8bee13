"""Hypothesis over the webhook parsers: whatever a delivery holds, the answer is a payload, a
documented refusal (`MalformedPayload`) or an Outcome with its status, never another exception.

Payloads are drawn near the real shapes (each field sometimes right, sometimes any JSON value,
sometimes missing), so the parsers' deeper branches are reached, not only their first check.
Derandomized and bounded: a few seconds."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.models import Event
from orchestrator.settings import Settings
from orchestrator.webhooks import github, gitlab, intake
from orchestrator.webhooks.events import MalformedPayload

BOUNDED = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SECRET = "property-secret-1"
MISSING = object()

# Any text, lone UTF-16 surrogates included: JSON can carry them as `\ud800` escapes.
texts = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    ["\ud800", "main\udfff", "\x00", "\u2028"]
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
shas = st.sampled_from(["a" * 40, "0" * 40, "b" * 64, "A" * 40, "-a", ""])
branches = st.sampled_from(["main", "feature/x", "-rf", "", "a\x00b", "refs/heads/main"])


def field(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right kind of value; sometimes any JSON value; sometimes absent."""
    return st.one_of(good, good, json_values, st.just(MISSING))


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A JSON object of these fields (absent ones left out), or now and then not an object."""
    made = st.fixed_dictionaries({k: field(v) for k, v in fields.items()}).map(
        lambda d: {k: v for k, v in d.items() if v is not MISSING}
    )
    return st.one_of(made, made, made, json_values)


github_repository = obj(
    full_name=st.sampled_from(["acme/p", "ACME/P", "someone/else"]),
    clone_url=st.sampled_from(["https://git.example.com/acme/p.git", "::", "http://[x"]),
)
github_push = obj(
    ref=st.sampled_from(["refs/heads/main", "refs/tags/v1", "refs/heads/"]) | texts,
    before=shas,
    after=shas,
    repository=github_repository,
    pusher=obj(name=texts),
    sender=obj(login=texts),
    head_commit=obj(id=shas, author=obj(username=texts)),
    commits=st.lists(obj(id=shas, committer=obj(username=texts)), max_size=2),
)
github_pull = obj(
    action=st.sampled_from(["opened", "synchronize", "closed", "labeled"]),
    pull_request=obj(
        number=st.integers(),
        title=texts,
        head=obj(sha=shas, ref=branches, repo=st.none() | github_repository),
        base=obj(ref=branches),
    ),
    repository=github_repository,
    sender=obj(login=texts),
)
gitlab_project = obj(
    path_with_namespace=st.sampled_from(["acme/p", "group/sub/p"]),
    git_http_url=st.sampled_from(["https://git.example.com/acme/p.git", "::"]),
)
gitlab_push = obj(
    ref=st.sampled_from(["refs/heads/main", "refs/tags/v1"]) | texts,
    before=shas,
    after=shas,
    project=gitlab_project,
    user_username=texts,
)
gitlab_merge = obj(
    object_attributes=obj(
        action=st.sampled_from(["open", "update", "merge", "approved"]),
        iid=st.integers(),
        title=texts,
        last_commit=obj(id=shas),
        oldrev=st.none() | shas,
        source_branch=branches,
        target_branch=branches,
        source_project_id=st.integers(),
        target_project_id=st.integers(),
        source=st.none() | gitlab_project,
    ),
    project=gitlab_project,
    user=obj(username=texts),
)


def _parses_or_refuses(parse: Callable[[Any], object], payload: Any) -> None:
    with contextlib.suppress(MalformedPayload):
        parse(payload)


@BOUNDED
@given(payload=github_push | github_pull)
def test_github_parsers_return_an_event_or_refuse_as_malformed(payload: Any) -> None:
    if not isinstance(payload, dict):
        return
    for parse in (github.repo_ref, github.push_event, github.review_event):
        _parses_or_refuses(parse, payload)
    assert all(isinstance(login, str) for login in github.commit_logins(payload, "a" * 40))


@BOUNDED
@given(payload=gitlab_push | gitlab_merge)
def test_gitlab_parsers_return_an_event_or_refuse_as_malformed(payload: Any) -> None:
    if not isinstance(payload, dict):
        return
    for parse in (gitlab.repo_ref, gitlab.push_event, gitlab.review_event):
        _parses_or_refuses(parse, payload)


@BOUNDED
@given(payload=github_pull | gitlab_merge)
def test_a_review_number_is_one_the_database_can_hold(payload: Any) -> None:
    for parse in (github.review_event, gitlab.review_event):
        try:
            review = parse(payload) if isinstance(payload, dict) else None
        except MalformedPayload:
            continue
        assert review is None or 0 <= review.number <= 2**31 - 1


@BOUNDED
@given(body=st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_body_is_json_an_object_or_malformed(body: bytes) -> None:
    with contextlib.suppress(MalformedPayload):
        assert isinstance(intake.parse_json(body), dict)


@pytest.fixture
def registered(db: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Session:
    settings_ = Settings(data_dir=tmp_path)
    monkeypatch.setattr("orchestrator.secrets.crypto.get_settings", lambda: settings_)
    for name, provider in (("acme/p", "github"), ("acme/g", "gitlab")):
        made = repos.register(
            db,
            name=name,
            clone_url=f"https://git.example.com/{name}.git",
            branch="main",
            provider=provider,
            secret=SECRET,
        )
        assert not isinstance(made, repos.RepositoryRefused), made
    db.commit()
    return db


latin1 = st.text(st.characters(max_codepoint=255), max_size=12)
ANSWERS = {200, 202, 401, 413, 422}


@BOUNDED
@given(
    payload=github_push | github_pull,
    event=st.sampled_from(["push", "pull_request", "ping", "issues", ""]),
    delivery=latin1,
    signed=st.booleans(),
)
def test_a_github_delivery_is_answered_with_a_documented_status(
    registered: Session, payload: Any, event: str, delivery: str, signed: bool
) -> None:
    body = json.dumps(payload).encode()
    headers = {
        github.EVENT_HEADER: event,
        github.DELIVERY_HEADER: delivery,
        github.SIGNATURE_HEADER: github.sign(SECRET if signed else "wrong", body),
    }
    outcome = intake.receive_github(registered, headers, body)
    registered.rollback()
    assert outcome.status in ANSWERS, outcome
    assert (outcome.event_id is not None) == (outcome.status == 202)


@BOUNDED
@given(
    payload=gitlab_push | gitlab_merge,
    event=st.sampled_from([gitlab.PUSH_EVENT, gitlab.MERGE_REQUEST_EVENT, "Note Hook"]),
    delivery=latin1,
    token=st.sampled_from([SECRET, "wrong", "ü"]),
)
def test_a_gitlab_delivery_is_answered_with_a_documented_status(
    registered: Session, payload: Any, event: str, delivery: str, token: str
) -> None:
    headers = {
        gitlab.EVENT_HEADER: event,
        "x-gitlab-event-uuid": delivery,
        gitlab.TOKEN_HEADER: token,
    }
    outcome = intake.receive_gitlab(registered, headers, json.dumps(payload).encode())
    registered.rollback()
    assert outcome.status in ANSWERS, outcome
    assert (outcome.event_id is not None) == (outcome.status == 202)


# Signed deliveries from the registered repository, every string and number left to chance:
# what a repository's own webhook can send, past the signature check.
signed_pushes = st.fixed_dictionaries(
    {
        "ref": st.just("refs/heads/main") | texts,
        "before": shas,
        "after": shas,
        "repository": st.just({"full_name": "acme/p"}),
        "pusher": st.fixed_dictionaries({"name": texts}),
    }
)
signed_pulls = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["opened", "synchronize", "closed"]) | texts,
        "pull_request": st.fixed_dictionaries(
            {
                "number": st.integers(),
                "title": texts,
                "head": st.fixed_dictionaries({"sha": shas, "ref": texts, "repo": st.none()}),
                "base": st.fixed_dictionaries({"ref": texts}),
            }
        ),
        "repository": st.just({"full_name": "acme/p"}),
        "sender": st.fixed_dictionaries({"login": texts}),
    }
)


@BOUNDED
@given(
    event_payload=st.tuples(st.just("push"), signed_pushes)
    | st.tuples(st.just("pull_request"), signed_pulls),
    delivery=latin1,
)
def test_a_signed_delivery_with_any_text_or_number_is_stored_or_refused(
    registered: Session, event_payload: tuple[str, Any], delivery: str
) -> None:
    event, payload = event_payload
    body = json.dumps(payload).encode()
    headers = {
        github.EVENT_HEADER: event,
        github.DELIVERY_HEADER: delivery,
        github.SIGNATURE_HEADER: github.sign(SECRET, body),
    }
    outcome = intake.receive_github(registered, headers, body)
    stored = registered.scalars(select(Event)).all()
    registered.rollback()
    assert outcome.status in ANSWERS, outcome
    for row in stored:  # what PostgreSQL must take too: no NUL, no lone surrogate
        for text in (row.ref, row.pusher, row.delivery_id):
            assert "\x00" not in text
            text.encode()
