"""What a variable may be called, and which one a run gets when several scopes set it. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KINDS = ("env", "terraform")
SCOPES = ("repository", "context", "stack")
MAX_VALUE_BYTES = 64 * 1024
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TERRAFORM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_RESERVED_EXACT = frozenset({"PATH", "HOME", "TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR"})
_RESERVED_PREFIXES = ("STACKRUN_", "TF_VAR_", "TF_IN_AUTOMATION", "TF_INPUT")


def name_error(name: str, kind: str) -> str | None:
    """Why `name` cannot be a variable of `kind`, or None."""
    if kind not in KINDS:
        return f"kind must be one of {', '.join(KINDS)}, not {kind!r}"
    if kind == "terraform":
        if not _TERRAFORM_NAME.match(name):
            return (
                f"terraform variable name {name!r} must start with a letter or _ and hold only "
                "letters, digits, _ and -"
            )
        return None
    if not _ENV_NAME.match(name):
        return (
            f"environment variable name {name!r} must start with a letter or _ and hold only "
            "letters, digits and _"
        )
    if name in _RESERVED_EXACT or name.startswith(_RESERVED_PREFIXES):
        return (
            f"environment variable {name!r} is set by stackrun itself; "
            'use kind "terraform" for a TF_VAR_ value'
        )
    return None


def value_error(value: str) -> str | None:
    if len(value.encode()) > MAX_VALUE_BYTES:
        return f"a value holds at most {MAX_VALUE_BYTES} bytes"
    if "\x00" in value:
        return "a value cannot hold a NUL character"
    return None


def environment_name(name: str, kind: str) -> str:
    """The environment variable a run gets: NAME, or TF_VAR_name for a Terraform variable."""
    return f"TF_VAR_{name}" if kind == "terraform" else name


@dataclass(frozen=True)
class Candidate:
    """One variable as set in one scope; `where` names it for the run's log."""

    name: str
    kind: str
    secret: bool
    scope: str
    where: str
    rank: int
    value_ref: int


@dataclass(frozen=True)
class Chosen:
    env_name: str
    winner: Candidate
    shadowed: tuple[Candidate, ...]


def choose(candidates: Iterable[Candidate]) -> list[Chosen]:
    """Stack over context over repository default; among contexts, the later name wins (rank
    orders them). Returns one choice per environment name, sorted by it."""
    by_env: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_env.setdefault(environment_name(candidate.name, candidate.kind), []).append(candidate)
    chosen: list[Chosen] = []
    for env_name in sorted(by_env):
        ordered: Sequence[Candidate] = sorted(by_env[env_name], key=_precedence, reverse=True)
        chosen.append(Chosen(env_name, ordered[0], tuple(ordered[1:])))
    return chosen


def _precedence(candidate: Candidate) -> tuple[int, int]:
    return SCOPES.index(candidate.scope), candidate.rank
