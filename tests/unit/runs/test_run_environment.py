"""A run's environment as the API builds it: an untrusted proposed run gets no secret variable
and no sensitive upstream output, and none is even decrypted for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from orchestrator.models import Run, Stack, StackOutputs, Variable
from orchestrator.runs import environment, outputs
from orchestrator.settings import Settings, get_settings
from orchestrator.variables import service as variables
from orchestrator.variables.service import Owner, VariableIn
from tests.unit.rows import add_stack


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("STACKRUN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    return get_settings()


def _world(db: Session, settings: Settings) -> Stack:
    stack = add_stack(db, inputs=[{"name": "db_url", "stack": "acme/p/db", "output": "url"}])
    db.add(Stack(id="acme/p/db", repository_id=1, path="db", name="db"))
    owner = Owner("stack", stack.id)
    for given in (
        VariableIn("region", "eu-west-1", kind="terraform"),
        VariableIn("db_password", "Hunter2-secret", secret=True, kind="terraform"),
    ):
        assert isinstance(variables.put(db, owner, given, "admin", settings), Variable)
    upstream = Run(
        id=1,
        stack_id="acme/p/db",
        kind="TRACKED",
        state="FINISHED",
        commit_sha="a" * 40,
        branch="main",
        triggered_by="push:dev1",
    )
    db.add(upstream)
    db.flush()
    outputs.store(db, upstream, {"url": {"value": "postgres://u:pw@db", "sensitive": True}})
    db.flush()
    return stack


def _run(db: Session, kind: str, triggered_by: str) -> Run:
    run = Run(stack_id="acme/p/vpc", kind=kind, state="PLANNING", commit_sha="b" * 40, branch="x")
    run.triggered_by = triggered_by
    db.add(run)
    db.flush()
    return run


def _corrupt_secrets(db: Session) -> None:
    """Any attempt to decrypt a secret now raises: withholding must not even try."""
    for row in db.query(Variable).filter(Variable.secret.is_(True)):
        row.value_enc = b"\x01\x01" + row.value_enc[2:-1] + b"\x00"
    for found in db.query(StackOutputs):
        found.sensitive_enc = b"garbage-that-cannot-decrypt"
    db.flush()


def test_an_untrusted_proposed_run_gets_no_secret_and_decrypts_none(
    db: Session, settings: Settings
) -> None:
    _world(db, settings)
    _corrupt_secrets(db)
    given = environment.for_run(db, _run(db, "PROPOSED", "push:mallory"), settings)
    assert not given.trusted and "mallory" in given.trust_reason
    assert given.variables == {"TF_VAR_region": "eu-west-1"}
    assert given.inputs == {} and given.secrets == []
    assert given.withheld == ["TF_VAR_db_password", "TF_VAR_db_url"]


def test_a_tracked_run_gets_its_secrets_and_the_values_to_mask(
    db: Session, settings: Settings
) -> None:
    _world(db, settings)
    given = environment.for_run(db, _run(db, "TRACKED", "push:dev1"), settings)
    assert given.trusted and given.withheld == []
    assert given.variables["TF_VAR_db_password"] == "Hunter2-secret"
    assert given.inputs == {"TF_VAR_db_url": "postgres://u:pw@db"}
    assert set(given.secrets) == {"Hunter2-secret", "postgres://u:pw@db"}
    assert environment.RunEnvironment.from_json(given.to_json()) == given
