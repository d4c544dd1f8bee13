"""Stack outputs after an apply, and the TF_VAR_* inputs a downstream run gets from them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.models import Run, Stack, StackOutputs, utcnow
from orchestrator.secrets.crypto import decrypt, encrypt


def _context(stack_id: str) -> str:
    return f"stack:{stack_id}:outputs"


def store(session: Session, run: Run, outputs: dict[str, Any]) -> None:
    """Keep `terraform output -json` of an apply: sensitive values encrypted at rest."""
    plain = {n: o.get("value") for n, o in outputs.items() if not o.get("sensitive")}
    secret = {n: o.get("value") for n, o in outputs.items() if o.get("sensitive")}
    row = session.get(StackOutputs, run.stack_id) or StackOutputs(stack_id=run.stack_id)
    row.run_id = run.id
    row.commit_sha = run.commit_sha
    row.plain = plain
    row.sensitive_names = sorted(secret)
    row.sensitive_enc = encrypt(json.dumps(secret), _context(run.stack_id)) if secret else None
    row.updated_at = utcnow()
    session.add(row)


def _values(row: StackOutputs, with_sensitive: bool = True) -> dict[str, Any]:
    values = dict(row.plain)
    if row.sensitive_enc and with_sensitive:
        values.update(json.loads(decrypt(row.sensitive_enc, _context(row.stack_id))))
    return values


def stored(session: Session, stack_id: str) -> tuple[dict[str, Any], frozenset[str]] | None:
    """The stack's outputs after its last apply (decrypted) and the names marked sensitive."""
    row = session.get(StackOutputs, stack_id)
    if row is None:
        return None
    return _values(row), frozenset(row.sensitive_names or ())


@dataclass(frozen=True)
class Inputs:
    """Environment for a downstream run, the values to mask, and a digest to compare runs."""

    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    digest: str = ""
    withheld: tuple[str, ...] = ()


def as_tf_var(value: Any) -> str:
    """Terraform reads TF_VAR_ strings raw and other types as HCL/JSON literals."""
    return value if isinstance(value, str) else json.dumps(value)


def inputs_for(session: Session, stack: Stack, *, with_sensitive: bool = True) -> Inputs:
    """Upstream outputs as TF_VAR_*; without sensitive ones (an untrusted run), an input from
    a sensitive output is left unset, listed as withheld, and never decrypted."""
    env: dict[str, str] = {}
    secrets: list[str] = []
    missing: list[str] = []
    withheld: list[str] = []
    for spec in stack.inputs or []:
        row = session.get(StackOutputs, spec["stack"])
        if row is not None and not with_sensitive and spec["output"] in row.sensitive_names:
            withheld.append(f"TF_VAR_{spec['name']}")
            continue
        values = _values(row, with_sensitive) if row is not None else {}
        if spec["output"] not in values:
            missing.append(f"{spec['name']} ← {spec['stack']}.{spec['output']}")
            continue
        text = as_tf_var(values[spec["output"]])
        env[f"TF_VAR_{spec['name']}"] = text
        if row is not None and spec["output"] in row.sensitive_names:
            secrets.append(text)
    digest = hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()
    return Inputs(env, tuple(secrets), tuple(missing), digest, tuple(withheld))
