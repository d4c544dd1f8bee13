"""The index, a check's record, "who owns" and drift attribution on an in-memory database."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.boundary import index, queries, record
from orchestrator.boundary.argocd_side import Cluster, Observed
from orchestrator.boundary.check import Target
from orchestrator.boundary.findings import Claim, ObjectRef
from orchestrator.boundary.kinds import identities_of_object, ordered
from orchestrator.drift.service import _attributed
from orchestrator.models import (
    BoundaryCheck,
    BoundaryFinding,
    NotificationDelivery,
    NotificationTarget,
    StateVersion,
)
from orchestrator.notifications import messages
from orchestrator.policy.store import boundary_of
from tests.unit.boundary import shapes
from tests.unit.rows import add_stack

STACK = "acme/p/vpc"
TARGET = Target("acme/p/bootstrap", "https://argocd.example.com", Cluster("c", "s", "root"), 1)
DB_OBJECT = ObjectRef("rds.services.k8s.aws", "DBInstance", "payments", "main")


def _unreadable(key: str) -> bytes:
    raise KeyError(key)


def _indexed(db: Session) -> None:
    add_stack(db)
    content = json.dumps(shapes.STATE).encode()
    db.add(StateVersion(stack_id=STACK, serial=12, lineage="l", sha256="x", content=content))
    db.add(NotificationTarget(url="http://hook", events=[record.EVENT], secret_enc=b"x"))
    db.flush()
    assert index.refresh_stale(db, _unreadable) == [STACK]
    assert index.refresh_stale(db, _unreadable) == [], "an indexed source is not read again"


def _observed(*claims: Claim, complete: bool = True) -> Observed:
    apps = {claim.app for claim in claims} | {"payments-db", "root"}
    return Observed(list(claims), apps, apps if complete else set(), [], len(claims))


DB_CLAIM = Claim(
    "payments-db", DB_OBJECT, identities_of_object(ordered([]), shapes.ACK_DB_INSTANCE)
)


def _deliveries(db: Session) -> list[NotificationDelivery]:
    return list(db.scalars(select(NotificationDelivery)))


def test_a_new_finding_is_stored_once_and_announced_once(db: Session) -> None:
    _indexed(db)
    assert record.findings(db, TARGET, _observed(DB_CLAIM), "handoff", 7) == "ok"
    assert record.findings(db, TARGET, _observed(DB_CLAIM), "schedule", None) == "ok"
    (finding,) = queries.findings(db, platform=TARGET.platform)
    assert (finding["app"], finding["stack"], finding["address"]) == (
        "payments-db",
        STACK,
        "aws_db_instance.main",
    )
    assert finding["object"]["text"] == "ACK DBInstance payments/main"
    (delivery,) = _deliveries(db)
    assert "Argo CD application `payments-db`" in delivery.text
    assert delivery.detail["boundary"]["identity"] == f"arn:{shapes.DB_ARN}"
    checks = queries.checks(db, platform=TARGET.platform)
    assert [c["open_findings"] for c in checks] == [1, 1]
    assert queries.pipeline_view(db, 7, [TARGET.platform])["checks"][0]["trigger"] == "handoff"


def test_a_dropped_object_closes_its_finding_and_a_failed_check_changes_nothing(
    db: Session,
) -> None:
    _indexed(db)
    record.findings(db, TARGET, _observed(DB_CLAIM), "handoff", 7)
    record.findings(db, TARGET, _observed(complete=False), "schedule", None)
    assert len(queries.findings(db, platform=TARGET.platform)) == 1, "an unread app keeps it"
    record.failed(db, TARGET.platform, "schedule", None, "reading Argo CD: unreachable")
    assert len(queries.findings(db, platform=TARGET.platform)) == 1
    record.findings(db, TARGET, _observed(), "schedule", None)
    assert queries.findings(db, platform=TARGET.platform) == []
    (closed,) = queries.findings(db, platform=TARGET.platform, status="closed")
    assert "no longer manages" in closed["close_reason"]
    statuses = [c.status for c in db.scalars(select(BoundaryCheck).order_by(BoundaryCheck.id))]
    assert statuses == ["ok", "ok", "failed", "ok"]


def test_an_empty_list_from_a_token_that_cannot_see_the_root_closes_nothing(db: Session) -> None:
    _indexed(db)
    record.findings(db, TARGET, _observed(DB_CLAIM), "handoff", 7)
    blind = Observed([], set(), set(), ["the root application root is not among …"], 0)
    assert record.findings(db, TARGET, blind, "schedule", None) == "partial"
    assert len(queries.findings(db, platform=TARGET.platform)) == 1
    gone = Observed([], {"root"}, {"root"}, [], 0)
    assert record.findings(db, TARGET, gone, "schedule", None) == "ok"
    (closed,) = queries.findings(db, platform=TARGET.platform, status="closed")
    assert closed["close_reason"] == "application 'payments-db' no longer exists"


def test_who_owns_an_arn_and_a_kubernetes_object(db: Session) -> None:
    _indexed(db)
    record.findings(db, TARGET, _observed(DB_CLAIM), "handoff", 7)
    answer = queries.owners(db, queries.question(shapes.DB_ARN, None))
    assert [t["address"] for t in answer["terraform"]] == ["aws_db_instance.main"]
    assert [a["app"] for a in answer["argocd"]] == ["payments-db"]
    assert answer["arn"]["service"] == "rds"
    deployment = queries.owners(db, queries.question(None, "Deployment payments/api"))
    assert [t["address"] for t in deployment["terraform"]] == ["kubernetes_deployment.api"]
    assert queries.question("arn:aws:nope", None).error is not None
    assert queries.question(None, "not an object at all").error is not None
    assert queries.question(None, None).error is not None


def test_drift_and_policies_name_the_application(db: Session) -> None:
    _indexed(db)
    record.findings(db, TARGET, _observed(DB_CLAIM), "handoff", 7)
    changes = [{"address": "aws_db_instance.main", "actions": ["update"]}]
    resources = _attributed(db, STACK, changes)
    assert resources[0]["managed_by"] == [
        {"app": "payments-db", "object": "ACK DBInstance payments/main"}
    ]
    text = messages.drift_text(STACK, resources)
    assert (
        "aws_db_instance.main drifted; also managed by Argo CD application `payments-db` "
        "(ACK DBInstance payments/main)"
    ) in text
    (seen,) = boundary_of(db, STACK)
    assert seen["app"] == "payments-db" and seen["object"]["kind"] == "DBInstance"
    assert db.scalar(select(BoundaryFinding.status)) == "open"
