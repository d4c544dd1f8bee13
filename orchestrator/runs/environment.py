"""What a run's Terraform gets from stackrun's secrets: variables and upstream inputs, as far
as the run is trusted (orchestrator/trust.py). Read by the API for the run's own credential, so a
worker never holds the master key (docs/SECURITY.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.models import Repository, Run, Stack
from orchestrator.repos import trust_settings
from orchestrator.runs import outputs
from orchestrator.settings import Settings
from orchestrator.trust import run_trust
from orchestrator.variables import service as variables


@dataclass(frozen=True)
class RunEnvironment:
    """The environment of one run: `secrets` to mask, `notes` for its log, `withheld` names
    an untrusted run was not given, `missing` inputs with no applied value yet."""

    trusted: bool
    trust_reason: str
    variables: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    inputs_digest: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunEnvironment:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def for_run(session: Session, run: Run, settings: Settings) -> RunEnvironment:
    """Decrypts only what this run may have; VariableUnreadable when a value cannot be."""
    stack = session.get(Stack, run.stack_id)
    assert stack is not None
    repository = session.get(Repository, stack.repository_id)
    assert repository is not None
    trust = run_trust(run.kind, run.triggered_by, trust_settings(repository))
    found = variables.for_stack(session, stack, settings, with_secrets=trust.trusted)
    upstream = outputs.inputs_for(session, stack, with_sensitive=trust.trusted)
    return RunEnvironment(
        trusted=trust.trusted,
        trust_reason=trust.reason,
        variables=found.env,
        inputs=upstream.env,
        secrets=[*found.secrets, *upstream.secrets],
        notes=list(found.notes),
        withheld=[*found.withheld, *upstream.withheld],
        missing=list(upstream.missing),
        inputs_digest=upstream.digest,
    )
