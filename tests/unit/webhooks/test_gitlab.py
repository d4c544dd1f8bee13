"""GitLab deliveries (orchestrator/webhooks/gitlab.py) with GitLab's documented Push Hook."""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.webhooks import gitlab
from orchestrator.webhooks.events import MalformedPayload

DATA = Path(__file__).resolve().parents[2] / "data" / "webhooks"


def _payload() -> dict[str, Any]:
    value = json.loads((DATA / "gitlab-push.json").read_bytes())
    assert isinstance(value, dict)
    return value


def test_push_gives_ref_branch_before_after_and_pusher() -> None:
    push = gitlab.push_event(_payload())
    assert push.ref == "refs/heads/master"
    assert push.branch == "master"
    assert push.before == "95790bf891e76fee5e1747ab589903a6a1f80f22"
    assert push.after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert push.pusher == "jsmith"


def test_push_names_the_project_by_path_with_namespace_and_git_urls() -> None:
    ref = gitlab.push_event(_payload()).repo
    assert ref.full_name == "mike/diaspora"
    assert ref.urls[0] == "http://example.com/mike/diaspora.git"
    assert "git@example.com:mike/diaspora.git" in ref.urls


def test_pusher_falls_back_to_user_name() -> None:
    payload = _payload()
    del payload["user_username"]
    assert gitlab.push_event(payload).pusher == "John Smith"


def test_missing_project_raises_malformed_payload_naming_the_field() -> None:
    payload = _payload()
    del payload["project"]
    with pytest.raises(MalformedPayload, match=r"project\.path_with_namespace"):
        gitlab.push_event(payload)


def test_non_string_ref_raises_malformed_payload_naming_the_field() -> None:
    payload = _payload()
    payload["ref"] = ["refs/heads/master"]
    with pytest.raises(MalformedPayload, match=r"field ref must be a string"):
        gitlab.push_event(payload)


def test_verify_accepts_the_configured_token() -> None:
    assert gitlab.verify("s3cr3t-token", "s3cr3t-token")


@pytest.mark.parametrize(
    "token", ["", "s3cr3t-toke", "s3cr3t-token ", "S3CR3T-TOKEN", "other", "s3cr3t-token2"]
)
def test_verify_rejects_any_other_token(token: str) -> None:
    assert not gitlab.verify("s3cr3t-token", token)


def test_verify_rejects_non_ascii_token_instead_of_raising() -> None:
    assert not gitlab.verify("s3cr3t-token", "s3cr3t-tok\u00e9n")


def test_verify_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(gitlab.hmac, "compare_digest", spy)
    assert gitlab.verify("s3cr3t-token", "s3cr3t-token")
    assert not gitlab.verify("s3cr3t-token", "nope")
    assert calls == [(b"s3cr3t-token", b"s3cr3t-token"), (b"s3cr3t-token", b"nope")]
