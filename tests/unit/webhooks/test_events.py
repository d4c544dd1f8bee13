"""The provider-neutral event shape (orchestrator/webhooks/events.py)."""

from __future__ import annotations

import pytest

from orchestrator.webhooks.events import (
    MalformedPayload,
    PushEvent,
    RepoRef,
    optional_str,
    require_int,
    require_sha,
    require_str,
)


def _push(ref: str) -> PushEvent:
    return PushEvent(ref, "a" * 40, "b" * 40, "alice", RepoRef("o/r", ()))


def test_branch_is_the_ref_without_refs_heads() -> None:
    assert _push("refs/heads/main").branch == "main"


def test_branch_keeps_slashes_in_the_branch_name() -> None:
    assert _push("refs/heads/feature/eks-1.30").branch == "feature/eks-1.30"


@pytest.mark.parametrize("ref", ["refs/tags/v1.0", "refs/pull/1/head", "main", "refs/headsx/y"])
def test_branch_is_none_for_refs_that_are_not_branches(ref: str) -> None:
    assert _push(ref).branch is None


def test_malformed_payload_is_a_value_error() -> None:
    assert issubclass(MalformedPayload, ValueError)


def test_require_str_follows_a_nested_path() -> None:
    assert require_str({"a": {"b": {"c": "x"}}}, "a", "b", "c") == "x"


def test_require_str_accepts_an_empty_string() -> None:
    assert require_str({"a": ""}, "a") == ""


@pytest.mark.parametrize(
    "payload",
    [{}, {"project": {}}, {"project": None}, {"project": "mike/diaspora"}, {"project": []}],
)
def test_require_str_missing_field_names_the_whole_path(payload: dict[str, object]) -> None:
    with pytest.raises(MalformedPayload, match=r"missing field project\.path_with_namespace"):
        require_str(payload, "project", "path_with_namespace")


@pytest.mark.parametrize("value", [None, 1, 1.5, True, ["x"], {"x": "y"}])
def test_require_str_non_string_names_the_field(value: object) -> None:
    with pytest.raises(MalformedPayload, match=r"field pusher\.name must be a string"):
        require_str({"pusher": {"name": value}}, "pusher", "name")


def test_optional_str_gives_empty_string_when_missing_or_not_a_string() -> None:
    assert optional_str({}, "pusher", "name") == ""
    assert optional_str({"pusher": None}, "pusher", "name") == ""
    assert optional_str({"pusher": {"name": 3}}, "pusher", "name") == ""
    assert optional_str({"pusher": {"name": "bob"}}, "pusher", "name") == "bob"


@pytest.mark.parametrize("value", ["--upload-pack=touch /tmp/x", "HEAD", "abc123", "G" * 40, ""])
def test_require_sha_refuses_anything_but_a_full_hex_commit_id(value: str) -> None:
    with pytest.raises(MalformedPayload, match="full hex commit id"):
        require_sha({"after": value}, "after")


@pytest.mark.parametrize("value", ["a" * 40, "0123456789abcdef" * 4])
def test_require_sha_accepts_sha1_and_sha256_ids(value: str) -> None:
    assert require_sha({"after": value}, "after") == value


@pytest.mark.parametrize("number", [-1, 2**31, 2**70])
def test_a_number_no_database_column_can_hold_is_malformed(number: int) -> None:
    with pytest.raises(MalformedPayload, match="between 0 and 2147483647"):
        require_int({"pull_request": {"number": number}}, "pull_request", "number")


def test_the_largest_number_a_column_holds_is_taken() -> None:
    assert require_int({"iid": 2**31 - 1}, "iid") == 2**31 - 1
