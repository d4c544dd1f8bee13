"""GitHub deliveries (orchestrator/webhooks/github.py) with octokit's published payloads."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.webhooks import github
from orchestrator.webhooks.events import MalformedPayload

DATA = Path(__file__).resolve().parents[2] / "data" / "webhooks"
ZERO = "0" * 40
SECRET = "It's a Secret to Everybody"


def _body(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _payload(name: str) -> dict[str, Any]:
    value = json.loads(_body(name))
    assert isinstance(value, dict)
    return value


def test_push_to_new_branch_gives_branch_zero_before_and_pusher() -> None:
    push = github.push_event(_payload("github-push-new-branch.json"))
    assert push.ref == "refs/heads/master"
    assert push.branch == "master"
    assert push.before == ZERO
    assert push.after == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert push.pusher == "Codertocat"


def test_push_names_the_repository_by_full_name_and_clone_urls() -> None:
    ref = github.push_event(_payload("github-push-new-branch.json")).repo
    assert ref.full_name == "Codertocat/Hello-World"
    assert ref.urls[0] == "https://github.com/Codertocat/Hello-World.git"
    assert "git@github.com:Codertocat/Hello-World.git" in ref.urls


def test_tag_deletion_push_is_not_a_branch() -> None:
    push = github.push_event(_payload("github-push.json"))
    assert push.ref == "refs/tags/simple-tag"
    assert push.branch is None
    assert push.after == ZERO


def test_ping_payload_names_its_repository() -> None:
    ref = github.repo_ref(_payload("github-ping.json"))
    assert ref.full_name == "Octocoders/Hello-World"
    assert "https://github.com/Octocoders/Hello-World.git" in ref.urls


def test_ping_payload_is_not_a_push() -> None:
    with pytest.raises(MalformedPayload, match="ref"):
        github.push_event(_payload("github-ping.json"))


def test_pusher_falls_back_to_sender_login() -> None:
    payload = _payload("github-push-new-branch.json")
    del payload["pusher"]
    assert github.push_event(payload).pusher == payload["sender"]["login"]


def test_missing_urls_are_left_out_of_the_repo_ref() -> None:
    ref = github.repo_ref({"repository": {"full_name": "o/r", "clone_url": "https://h/o/r.git"}})
    assert ref.urls == ("https://h/o/r.git",)


def test_missing_repository_raises_malformed_payload_naming_the_field() -> None:
    payload = _payload("github-push-new-branch.json")
    del payload["repository"]
    with pytest.raises(MalformedPayload, match=r"repository\.full_name"):
        github.push_event(payload)


def test_null_repository_raises_malformed_payload_naming_the_field() -> None:
    with pytest.raises(MalformedPayload, match=r"repository\.full_name"):
        github.repo_ref({"repository": None})


@pytest.mark.parametrize("field", ["ref", "before", "after"])
def test_non_string_push_field_raises_malformed_payload_naming_it(field: str) -> None:
    payload = copy.deepcopy(_payload("github-push-new-branch.json"))
    payload[field] = 123
    with pytest.raises(MalformedPayload, match=rf"field {field} must be a string"):
        github.push_event(payload)


def test_sign_is_githubs_sha256_hmac_of_the_raw_body() -> None:
    body = _body("github-push-new-branch.json")
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert github.sign(SECRET, body) == "sha256=" + expected


def test_githubs_documented_example_signature_verifies() -> None:
    # The example from GitHub's "Validating webhook deliveries" docs.
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert github.verify(SECRET, b"Hello, World!", signature)


def test_verify_accepts_the_signature_of_the_real_body() -> None:
    body = _body("github-push-new-branch.json")
    assert github.verify(SECRET, body, github.sign(SECRET, body))


def test_verify_rejects_a_wrong_secret() -> None:
    body = _body("github-push-new-branch.json")
    assert not github.verify(SECRET, body, github.sign("another secret", body))


@pytest.mark.parametrize("position", [0, 1000, -2])
def test_verify_rejects_a_body_changed_by_one_byte(position: int) -> None:
    body = _body("github-push-new-branch.json")
    signature = github.sign(SECRET, body)
    tampered = bytearray(body)
    tampered[position] ^= 0x01
    assert bytes(tampered) != body
    assert not github.verify(SECRET, bytes(tampered), signature)


def test_verify_rejects_a_signature_without_the_sha256_prefix() -> None:
    body = _body("github-push-new-branch.json")
    bare = github.sign(SECRET, body).removeprefix("sha256=")
    assert not github.verify(SECRET, body, bare)


def test_verify_rejects_the_legacy_sha1_signature() -> None:
    body = _body("github-push-new-branch.json")
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert not github.verify(SECRET, body, sha1)


def test_verify_rejects_an_empty_signature() -> None:
    assert not github.verify(SECRET, b"{}", "")


@pytest.mark.parametrize("odd", ["\u00e9", "\u00ff", "\udcff", "\u2603"])
def test_verify_rejects_non_ascii_signature_instead_of_raising(odd: str) -> None:
    # HTTP headers arrive latin-1 decoded, so a forged header may hold any of those characters.
    assert not github.verify(SECRET, b"{}", "sha256=" + odd + "0" * 63)


def test_commit_logins_names_the_pusher_sender_author_and_committer_of_the_commit() -> None:
    payload = copy.deepcopy(_payload("github-push-new-branch.json"))
    head = payload["head_commit"]["id"]
    payload["sender"]["login"] = "octo-sender"
    payload["head_commit"]["author"]["username"] = "octo-author"
    payload["commits"][0]["committer"]["username"] = "octo-committer"
    assert github.commit_logins(payload, head) == (
        "Codertocat",
        "octo-sender",
        "octo-author",
        "octo-committer",
    )
    assert github.commit_logins(payload, "f" * 40) == ("Codertocat", "octo-sender")
    payload["commits"] = "not a list"
    assert "octo-committer" not in github.commit_logins(payload, head)
