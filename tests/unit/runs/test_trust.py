"""Whose code a run executes and what it may reach: the pure trust rules."""

from __future__ import annotations

import json

import pytest

from orchestrator.trust import (
    WITHHELD,
    RepositoryTrust,
    author_of,
    fork_refusal,
    logs_role,
    normal_authors,
    redact_state,
    run_trust,
)

DEFAULT = RepositoryTrust()


@pytest.mark.parametrize("kind", ["TRACKED", "DRIFT", "DESTROY"])
def test_runs_of_the_tracked_branch_are_trusted(kind: str) -> None:
    assert run_trust(kind, "push:mallory", DEFAULT).trusted


def test_a_proposed_run_is_untrusted_by_default_and_says_whose_it_is() -> None:
    trust = run_trust("PROPOSED", "push:mallory", DEFAULT)
    assert not trust.trusted
    assert "mallory is not one of the repository's trusted_authors" in trust.reason


def test_a_trusted_author_is_matched_by_login_without_case() -> None:
    settings = RepositoryTrust.of(False, False, ["Alice"], False)
    assert run_trust("PROPOSED", "push:alice", settings).trusted
    assert run_trust("PROPOSED", "pull_request:ALICE", settings).trusted
    assert not run_trust("PROPOSED", "push:alicex", settings).trusted
    assert not run_trust("PROPOSED", "", settings).trusted


def test_a_retried_proposal_is_not_trusted_by_the_retriers_token_name() -> None:
    settings = RepositoryTrust.of(False, False, ["alice"], False)
    for trigger in ("retry:alice", "manual:alice", "retry:Alice"):
        trust = run_trust("PROPOSED", trigger, settings)
        assert not trust.trusted, trigger
        assert "made by hand" in trust.reason and "proposed_secrets" in trust.reason
    assert run_trust("PROPOSED", "retry:alice", RepositoryTrust.of(True, False, [], False)).trusted


def test_proposed_secrets_trusts_every_proposal() -> None:
    settings = RepositoryTrust.of(True, False, [], False)
    assert run_trust("PROPOSED", "push:anyone", settings).trusted


def test_author_of_reads_the_login_after_the_trigger_kind() -> None:
    assert author_of("push:dev1") == "dev1"
    assert author_of("manual:ops:admin") == "ops:admin"
    assert author_of("dev2") == "dev2"


def test_fork_pull_requests_are_refused_unless_the_repository_plans_them() -> None:
    refusal = fork_refusal(12, True, DEFAULT)
    assert refusal is not None and "#12" in refusal and "plan_fork_prs" in refusal
    assert fork_refusal(12, False, DEFAULT) is None
    assert fork_refusal(12, True, RepositoryTrust.of(False, True, [], False)) is None


def test_proposed_logs_are_for_approvers_unless_opened() -> None:
    assert logs_role("PROPOSED", DEFAULT) == "approver"
    assert logs_role("TRACKED", DEFAULT) == "viewer"
    assert logs_role("PROPOSED", RepositoryTrust.of(False, False, [], True)) == "viewer"


def test_trusted_authors_are_trimmed_deduplicated_and_sorted() -> None:
    assert normal_authors([" bob", "alice", "bob", "  "]) == ("alice", "bob")


def test_an_untrusted_run_reads_state_without_sensitive_outputs_or_attributes() -> None:
    state = {
        "version": 4,
        "outputs": {
            "pw": {"value": "Hunter2", "type": "string", "sensitive": True},
            "conf": {"value": {"k": "v"}, "type": ["map", "string"], "sensitive": True},
            "id": {"value": "vpc-1", "type": "string"},
        },
        "resources": [
            {
                "type": "aws_db_instance",
                "instances": [
                    {
                        "attributes": {"password": "Hunter2", "tags": {"k": "s3cret"}, "id": "db"},
                        "sensitive_attributes": [
                            [{"type": "get_attr", "value": "password"}],
                            [
                                {"type": "get_attr", "value": "tags"},
                                {"type": "index", "value": {"value": "k", "type": "string"}},
                            ],
                        ],
                    }
                ],
            }
        ],
    }
    redacted = json.loads(redact_state(json.dumps(state).encode()))
    assert "Hunter2" not in json.dumps(redacted) and "s3cret" not in json.dumps(redacted)
    assert redacted["outputs"]["pw"]["value"] == WITHHELD
    assert redacted["outputs"]["conf"]["value"] is None
    assert redacted["outputs"]["id"]["value"] == "vpc-1"
    attributes = redacted["resources"][0]["instances"][0]["attributes"]
    assert attributes == {"password": WITHHELD, "tags": {"k": WITHHELD}, "id": "db"}
    assert redact_state(b"not json") == b"{}"
