"""Variable names and the precedence of scopes, without I/O."""

from __future__ import annotations

import pytest

from orchestrator.variables import rules
from orchestrator.variables.rules import Candidate


def _candidate(scope: str, name: str = "X", kind: str = "env", rank: int = 0) -> Candidate:
    return Candidate(name, kind, False, scope, f"{scope}-{rank}", rank, 0)


def test_the_stack_wins_over_a_context_and_a_context_over_the_repository_default() -> None:
    chosen = rules.choose(
        [_candidate("repository"), _candidate("stack"), _candidate("context", rank=3)]
    )
    assert [c.winner.scope for c in chosen] == ["stack"]
    assert [c.scope for c in chosen[0].shadowed] == ["context", "repository"]


def test_among_contexts_the_later_one_wins() -> None:
    chosen = rules.choose([_candidate("context", rank=2), _candidate("context", rank=5)])
    assert chosen[0].winner.rank == 5


def test_a_terraform_variable_and_an_env_variable_of_the_same_name_do_not_collide() -> None:
    chosen = rules.choose(
        [_candidate("stack", "size", "terraform"), _candidate("repository", "size", "env")]
    )
    assert [c.env_name for c in chosen] == ["TF_VAR_size", "size"]
    assert all(not c.shadowed for c in chosen)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("1ABC", "env"),
        ("A-B", "env"),
        ("PATH", "env"),
        ("STACKRUN_TOKEN", "env"),
        ("TF_VAR_x", "env"),
        ("a b", "terraform"),
        ("x", "file"),
    ],
)
def test_names_stackrun_cannot_pass_are_refused(name: str, kind: str) -> None:
    assert rules.name_error(name, kind) is not None


@pytest.mark.parametrize(
    ("name", "kind"), [("AWS_REGION", "env"), ("_x", "env"), ("db-password", "terraform")]
)
def test_ordinary_names_are_accepted(name: str, kind: str) -> None:
    assert rules.name_error(name, kind) is None


def test_a_value_over_the_size_limit_or_with_a_nul_is_refused() -> None:
    assert rules.value_error("x" * (rules.MAX_VALUE_BYTES + 1)) is not None
    assert rules.value_error("a\x00b") is not None
    assert rules.value_error("fine") is None
