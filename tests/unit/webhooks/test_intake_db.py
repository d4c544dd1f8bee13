"""Webhook intake against a database: bad input is answered, never a crash, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.models import Event
from orchestrator.settings import Settings
from orchestrator.webhooks import intake
from orchestrator.webhooks.github import sign

SECRET = "intake-secret-1"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    monkeypatch.setattr("orchestrator.secrets.crypto.get_settings", lambda: settings)


def _headers(body: bytes, delivery: str = "d-1", secret: str = SECRET) -> dict[str, str]:
    return {
        "x-github-event": "push",
        "x-github-delivery": delivery,
        "x-hub-signature-256": sign(secret, body),
    }


def _push(**repository: str) -> bytes:
    return json.dumps(
        {"ref": "refs/heads/main", "before": "a" * 40, "after": "b" * 40, "repository": repository}
    ).encode()


def _register(db: Session, provider: str = "github") -> None:
    registered = repos.register(
        db,
        name="acme/p",
        clone_url="https://git.example.com/acme/p.git",
        branch="main",
        provider=provider,
        secret=SECRET,
    )
    assert not isinstance(registered, repos.RepositoryRefused), registered


def _events(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Event)) or 0)


@pytest.mark.parametrize("url", ["https://git.example.com:abc/x.git", "http://[::1", "::::"])
def test_a_clone_url_that_does_not_parse_is_an_unknown_repository(db: Session, url: str) -> None:
    _register(db)
    body = _push(full_name="someone/else", clone_url=url)
    outcome = intake.receive_github(db, _headers(body), body)
    assert (outcome.status, outcome.body) == (401, {"detail": intake.UNVERIFIED_GITHUB})
    assert _events(db) == 0


@pytest.mark.parametrize("secret", ["not-the-secret", SECRET])
def test_github_answers_an_unknown_repository_as_it_answers_a_bad_signature(
    db: Session, secret: str
) -> None:
    """Signed with a wrong secret, or with the secret of another repository (which is all a
    signed delivery for an unknown repository can be): the same 401, the same body."""
    _register(db)
    known = _push(full_name="acme/p")
    unknown = _push(full_name="someone/else", clone_url="https://git.example.com/someone/else")
    forged = intake.receive_github(db, _headers(known, secret="not-the-secret"), known)
    stranger = intake.receive_github(db, _headers(unknown, secret=secret), unknown)
    assert forged.status == stranger.status == 401
    assert forged.body == stranger.body == {"detail": intake.UNVERIFIED_GITHUB}
    assert "acme/p" not in json.dumps(forged.body) and "someone" not in json.dumps(stranger.body)
    assert _events(db) == 0


def _gitlab(path: str, token: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "a" * 40,
            "after": "b" * 40,
            "project": {"path_with_namespace": path},
        }
    ).encode()
    headers = {"x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": "g-1", "x-gitlab-token": token}
    return headers, body


@pytest.mark.parametrize("token", ["not-the-secret", SECRET])
def test_gitlab_answers_an_unknown_project_as_it_answers_a_wrong_token(
    db: Session, token: str
) -> None:
    _register(db, provider="gitlab")
    forged = intake.receive_gitlab(db, *_gitlab("acme/p", "not-the-secret"))
    stranger = intake.receive_gitlab(db, *_gitlab("someone/else", token))
    assert forged.status == stranger.status == 401
    assert forged.body == stranger.body == {"detail": intake.UNVERIFIED_GITLAB}
    assert intake.receive_gitlab(db, *_gitlab("acme/p", SECRET)).status == 202
    assert _events(db) == 1


def test_deeply_nested_json_is_422(db: Session) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    outcome = intake.receive_github(db, _headers(body), body)
    assert outcome.status == 422
    assert "nested too deeply" in outcome.body["detail"]


def test_a_number_past_pythons_digit_limit_is_422_not_a_server_error(db: Session) -> None:
    """json.loads raises a plain ValueError (not JSONDecodeError) past 4,300 digits."""
    body = b'{"repository": {"id": ' + b"9" * 5_000 + b"}}"
    outcome = intake.receive_github(db, _headers(body), body)
    assert outcome.status == 422
    assert "body is not valid JSON" in outcome.body["detail"]
    assert _events(db) == 0


def test_an_over_long_delivery_id_is_422_and_writes_nothing(db: Session) -> None:
    _register(db)
    body = _push(full_name="acme/p")
    outcome = intake.receive_github(db, _headers(body, delivery="x" * 201), body)
    assert outcome.status == 422
    assert _events(db) == 0


def test_a_signed_push_is_stored_once(db: Session) -> None:
    _register(db)
    body = _push(full_name="acme/p")
    assert intake.receive_github(db, _headers(body), body).status == 202
    assert intake.receive_github(db, _headers(body), body).body["status"] == "duplicate"
    assert _events(db) == 1


@pytest.mark.parametrize(
    ("escape", "named"),
    [
        (r"\u0000", "a NUL character"),
        (r"\ud800", "an unpaired UTF-16 surrogate"),
        (r"\udfff", "an unpaired UTF-16 surrogate"),
    ],
)
def test_a_signed_delivery_holding_text_no_database_stores_is_422_and_stores_nothing(
    db: Session, escape: str, named: str
) -> None:
    """Both crashed the insert (a 500), SQLite on the surrogate, PostgreSQL on NUL too."""
    _register(db)
    body = _push(full_name="acme/p").replace(b"refs/heads/main", f"refs/heads/m{escape}".encode())
    outcome = intake.receive_github(db, _headers(body), body)
    assert outcome.status == 422
    assert named in outcome.body["detail"]
    assert _events(db) == 0


def test_an_escaped_emoji_or_an_escaped_backslash_is_ordinary_text(db: Session) -> None:
    _register(db)
    for n, ref in enumerate([r"refs/heads/\ud83d\ude00", r"refs/heads/a\\u0000"]):
        body = _push(full_name="acme/p").replace(b"refs/heads/main", ref.encode())
        outcome = intake.receive_github(db, _headers(body, delivery=f"d-{n}"), body)
        assert outcome.status in (200, 202), outcome
