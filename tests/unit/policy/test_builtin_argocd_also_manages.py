"""The built-in `argocd-also-manages` plan policy: a planned change to a resource that an open
boundary finding names is denied, naming the application; anything else passes."""

from __future__ import annotations

from typing import Any

from orchestrator.policy import engine
from orchestrator.policy.engine import Evaluated, PolicySource
from tests.unit.policy.test_builtin_policies import body, changes

FINDING = {
    "app": "payments-db",
    "direction": "aws",
    "address": "aws_db_instance.main",
    "identity": "arn:arn:aws:rds:eu-west-1:111122223333:db:payments",
    "object": {
        "group": "rds.services.k8s.aws",
        "kind": "DBInstance",
        "namespace": "payments",
        "name": "main",
    },
    "first_seen": "2026-12-06T07:00:00+00:00",
}


def _denied(terraform: dict[str, Any], findings: list[dict[str, Any]]) -> list[str]:
    document = {"terraform": terraform, "stackrun": {"boundary": {"findings": findings}}}
    policy = PolicySource("argocd-also-manages", body("argocd-also-manages"))
    (outcome,) = engine.evaluate([policy], document)
    assert isinstance(outcome, Evaluated), outcome
    return list(outcome.rules.get("deny", []))


def test_changing_a_resource_an_application_also_manages_is_denied() -> None:
    plan = changes(("aws_db_instance.main", ["update"]), ("aws_s3_bucket.logs", ["create"]))
    (message,) = _denied(plan, [FINDING])
    assert message.startswith("aws_db_instance.main: planned update, but Argo CD application ")
    assert "payments-db also manages it (DBInstance payments/main)" in message


def test_leaving_it_alone_or_having_no_findings_passes() -> None:
    assert _denied(changes(("aws_db_instance.main", ["no-op"])), [FINDING]) == []
    assert _denied(changes(("aws_db_instance.main", ["delete", "create"])), []) == []
    assert _denied(changes(("aws_s3_bucket.logs", ["update"])), [FINDING]) == []
