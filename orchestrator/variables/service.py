"""Variables of stacks, contexts and repositories: written through the API, read by runs.
Values are envelope-encrypted at rest and bound to their row; a secret value never leaves
the database except into a run's environment."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import Context, Repository, Stack, Variable, utcnow
from orchestrator.secrets.envelope import SecretsUnavailable, SecretTampered, seal, unseal
from orchestrator.settings import Settings
from orchestrator.variables import rules


class VariableUnreadable(Exception):
    """A variable could not be decrypted for a run: the run fails closed, naming it."""


@dataclass(frozen=True)
class Refused:
    status: int
    reason: str


@dataclass(frozen=True)
class Owner:
    """Whose variables: a stack (its id), a context (its name) or a repository (its name)."""

    scope: str
    key: str


def encryption_context(scope: str, owner: str, kind: str, name: str) -> dict[str, str]:
    """What a value is bound to: moving its ciphertext to another row fails to decrypt."""
    return {"stackrun:scope": scope, "stackrun:owner": owner, "stackrun:kind": kind, "name": name}


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class VariableIn:
    name: str
    value: str
    secret: bool = False
    kind: str = "env"


def put(
    session: Session,
    owner: Owner,
    given: VariableIn,
    actor: str,
    settings: Settings,
    *,
    create_only: bool = False,
) -> Variable | Refused:
    """Create or replace one variable (POST creates only; PUT creates or replaces)."""
    problem = rules.name_error(given.name, given.kind) or rules.value_error(given.value)
    if problem:
        return Refused(422, problem)
    row = _find(session, owner, given.kind, given.name)
    if row is not None and create_only:
        return Refused(
            409, f"{owner.scope} {owner.key!r} already has {given.kind} variable {given.name!r}"
        )
    if row is not None and row.secret and not given.secret:
        return Refused(
            409,
            f"{given.kind} variable {given.name!r} is secret; delete it before making it plain",
        )
    context = encryption_context(owner.scope, owner.key, given.kind, given.name)
    sealed = seal(given.value, context, settings)
    if row is None:
        row = Variable(scope=owner.scope, owner=owner.key, name=given.name, kind=given.kind)
        session.add(row)
    row.secret = given.secret
    row.value_enc = sealed
    row.checksum = checksum(given.value)
    row.updated_by = actor
    row.updated_at = utcnow()
    session.flush()
    return row


def delete(session: Session, owner: Owner, kind: str, name: str) -> Variable | Refused:
    row = _find(session, owner, kind, name)
    if row is None:
        return Refused(404, f"{owner.scope} {owner.key!r} has no {kind} variable {name!r}")
    session.delete(row)
    session.flush()
    return row


def listed(session: Session, owner: Owner) -> list[Variable]:
    return list(
        session.scalars(
            select(Variable)
            .where(Variable.scope == owner.scope, Variable.owner == owner.key)
            .order_by(Variable.kind, Variable.name)
        )
    )


def view(row: Variable, settings: Settings) -> dict[str, Any]:
    """A variable as the API shows it: a secret's value never, only its checksum."""
    shown: dict[str, Any] = {
        "name": row.name,
        "kind": row.kind,
        "secret": row.secret,
        "checksum": row.checksum,
        "scope": row.scope,
        "owner": row.owner,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat(),
    }
    if not row.secret:
        context = encryption_context(row.scope, row.owner, row.kind, row.name)
        shown["value"] = unseal(row.value_enc, context, settings)
    return shown


def _find(session: Session, owner: Owner, kind: str, name: str) -> Variable | None:
    return session.scalar(
        select(Variable).where(
            Variable.scope == owner.scope,
            Variable.owner == owner.key,
            Variable.kind == kind,
            Variable.name == name,
        )
    )


@dataclass(frozen=True)
class RunVariables:
    """The environment a run gets from variables, the values to mask, and what the log says."""

    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()


def for_stack(
    session: Session, stack: Stack, settings: Settings, *, with_secrets: bool = True
) -> RunVariables:
    """Repository defaults, then the contexts attached by label (by name; a later one wins),
    then the stack's own. A value that cannot be decrypted raises VariableUnreadable (naming
    it): the run fails closed. Without secrets (an untrusted run), a name whose winning value
    is secret is left unset and listed as withheld; it is never decrypted."""
    contexts = attached_contexts(session, list(stack.labels or []))
    repository = session.get(Repository, stack.repository_id)
    owners: list[tuple[Owner, int]] = []
    if repository is not None:
        owners.append((Owner("repository", repository.name), 0))
    owners += [(Owner("context", c.name), rank) for rank, c in enumerate(contexts)]
    owners.append((Owner("stack", stack.id), 0))
    rows: list[Variable] = []
    candidates: list[rules.Candidate] = []
    for owner, rank in owners:
        for row in listed(session, owner):
            candidates.append(
                rules.Candidate(
                    row.name, row.kind, row.secret, owner.scope, _where(owner), rank, len(rows)
                )
            )
            rows.append(row)
    return _resolve(rules.choose(candidates), rows, settings, with_secrets)


def _resolve(
    chosen: Sequence[rules.Chosen], rows: list[Variable], settings: Settings, with_secrets: bool
) -> RunVariables:
    env: dict[str, str] = {}
    secrets: list[str] = []
    notes: list[str] = []
    withheld: list[str] = []
    for choice in chosen:
        row = rows[choice.winner.value_ref]
        if row.secret and not with_secrets:
            withheld.append(choice.env_name)
            notes.append(
                f"variable {choice.env_name} (secret) from {choice.winner.where}: withheld"
            )
            continue
        context = encryption_context(row.scope, row.owner, row.kind, row.name)
        try:
            value = unseal(row.value_enc, context, settings)
        except (SecretsUnavailable, SecretTampered) as exc:
            raise VariableUnreadable(
                f"reading variable {choice.env_name} of {choice.winner.where}: {exc}"
            ) from None
        env[choice.env_name] = value
        if row.secret:
            secrets.append(value)
        kind = "secret" if row.secret else "plain"
        note = f"variable {choice.env_name} ({kind}) from {choice.winner.where}"
        if choice.shadowed:
            note += "; overrides " + ", ".join(c.where for c in choice.shadowed)
        notes.append(note)
    return RunVariables(env, tuple(secrets), tuple(notes), tuple(withheld))


def _where(owner: Owner) -> str:
    if owner.scope == "repository":
        return f"the defaults of repository {owner.key}"
    return f"{owner.scope} {owner.key}"


def attached_contexts(session: Session, labels: Sequence[str]) -> list[Context]:
    """Contexts with a label in common with the stack, by name."""
    wanted = set(labels)
    contexts = session.scalars(select(Context).order_by(Context.name))
    return [c for c in contexts if wanted & set(c.attach_labels or [])]
