"""Whose code a run executes, and what it may therefore reach (docs/SECURITY.md). Pure rules.

A tracked, drift or destroy run executes the tracked branch, which only those who may merge can
change: it is trusted. A proposed run executes anyone's branch: it is trusted only when its
repository says so for every proposal (`proposed_secrets`) or names the author who pushed or
opened it (`trusted_authors`). An untrusted run gets no secret variable, no sensitive upstream
output and no AWS role.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.runstate import RunKind


@dataclass(frozen=True)
class RepositoryTrust:
    """A repository's trust settings (all off by default)."""

    proposed_secrets: bool = False
    plan_fork_prs: bool = False
    trusted_authors: tuple[str, ...] = ()
    proposed_logs_public: bool = False

    @classmethod
    def of(
        cls,
        proposed_secrets: bool,
        plan_fork_prs: bool,
        trusted_authors: Sequence[str] | None,
        proposed_logs_public: bool,
    ) -> RepositoryTrust:
        authors = normal_authors(trusted_authors or ())
        return cls(bool(proposed_secrets), bool(plan_fork_prs), authors, bool(proposed_logs_public))


def normal_authors(authors: Sequence[str]) -> tuple[str, ...]:
    """Trusted author logins: trimmed, without blanks or repeats, sorted."""
    return tuple(sorted({a.strip() for a in authors if a.strip()}))


@dataclass(frozen=True)
class Trust:
    trusted: bool
    reason: str


# Triggers of runs made through the API (`manual:<token>`, `retry:<token>`), not by a VCS event.
BY_HAND = frozenset({"manual", "retry"})


def author_of(triggered_by: str) -> str:
    """The VCS login or token name behind a run: `push:alice` → `alice`."""
    return triggered_by.partition(":")[2] if ":" in triggered_by else triggered_by


def run_trust(kind: str, triggered_by: str, settings: RepositoryTrust) -> Trust:
    if kind != RunKind.PROPOSED:
        return Trust(True, f"a {kind} run executes the tracked branch")
    author = author_of(triggered_by)
    if settings.proposed_secrets:
        return Trust(True, "the repository trusts every proposed run (proposed_secrets)")
    if triggered_by.partition(":")[0] in BY_HAND:
        # A retry's trigger names the retrier's token, not the proposal's author: a trusted
        # author's token retrying mallory's failed proposal must not hand it the secrets.
        return Trust(
            False,
            f"a proposed run made by hand ({triggered_by}) is trusted only when the repository "
            "trusts every proposal (proposed_secrets); its author pushes again instead",
        )
    trusted = {a.casefold() for a in settings.trusted_authors}
    if author and author.casefold() in trusted:
        return Trust(True, f"{author} is one of the repository's trusted_authors")
    who = author or "an unknown author"
    return Trust(False, f"{who} is not one of the repository's trusted_authors")


def fork_refusal(number: int, is_fork: bool, settings: RepositoryTrust) -> str | None:
    """Why a pull/merge request from a fork is not planned, or None when it may be."""
    if not is_fork or settings.plan_fork_prs:
        return None
    return (
        f"pull request #{number} comes from a fork; the repository does not plan pull "
        "requests from forks (set plan_fork_prs to plan them, without secrets)"
    )


def logs_role(kind: str, settings: RepositoryTrust) -> str:
    """The role that may read a run's log: a proposed run's log may show what its branch
    chose to print, so it is for approvers unless the repository opens it to viewers."""
    if kind == RunKind.PROPOSED and not settings.proposed_logs_public:
        return "approver"
    return "viewer"


def withheld_note(trust: Trust, withheld: Sequence[str]) -> str:
    """What an untrusted run's log says about what it did not get."""
    listed = ", ".join(withheld) if withheld else "none were configured"
    return (
        f"this proposed run is untrusted ({trust.reason}): secret variables, sensitive "
        f"upstream outputs and the stack's AWS role are withheld ({listed})"
    )


def missing_secret_hint(withheld: Sequence[str]) -> str:
    """Appended to the failure of an untrusted run that was denied secrets."""
    return (
        f"; this proposed run received no secrets ({', '.join(withheld)} withheld) because its "
        "author is not trusted: a plan that needs them runs on the tracked branch, or add the "
        "author to the repository's trusted_authors"
    )


WITHHELD = "(sensitive: withheld from an untrusted run)"


def redact_state(content: bytes) -> bytes:
    """A Terraform state as an untrusted run may read it: every sensitive output value and
    every attribute Terraform marks sensitive replaced by WITHHELD (null when not a string).
    Content that is not a state document comes back as an empty object."""
    try:
        state = json.loads(content)
    except ValueError:
        return b"{}"
    if not isinstance(state, dict):
        return b"{}"
    for output in (state.get("outputs") or {}).values():
        if isinstance(output, dict) and output.get("sensitive"):
            output["value"] = _withheld(output.get("value"))
    for resource in state.get("resources") or []:
        for instance in resource.get("instances") or [] if isinstance(resource, dict) else []:
            if isinstance(instance, dict):
                for path in instance.get("sensitive_attributes") or []:
                    _redact_path(instance.get("attributes"), path)
    return json.dumps(state).encode()


def _withheld(value: Any) -> Any:
    return WITHHELD if isinstance(value, str) else None


def _redact_path(node: Any, path: Any) -> None:
    """Replace the value at a sensitive_attributes path ([{type, value}, …]) in place."""
    if not isinstance(path, list) or not path:
        return
    for step in path[:-1]:
        node = _step(node, step)
        if node is None:
            return
    last = path[-1]
    key = last.get("value") if isinstance(last, dict) else None
    if isinstance(key, dict):
        key = key.get("value")
    if _step(node, last) is not None or (isinstance(node, dict) and key in node):
        node[key] = _withheld(node[key])


def _step(node: Any, step: Any) -> Any:
    key = step.get("value") if isinstance(step, dict) else None
    if isinstance(key, dict):
        key = key.get("value")
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None
