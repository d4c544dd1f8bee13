"""Findings: deduplicated by a stable key, closed only when the application was read whole."""

from __future__ import annotations

from orchestrator.boundary.findings import (
    AWS,
    CLOSED,
    KUBERNETES,
    OPEN,
    Claim,
    ObjectRef,
    Owned,
    Stored,
    compute,
    finding_key,
    reconcile,
)
from orchestrator.boundary.identities import Identity
from tests.unit.boundary import shapes

DB = ObjectRef("rds.services.k8s.aws", "DBInstance", "payments", "main")
DB_CLAIM = Claim(
    "payments-db",
    DB,
    (
        Identity("arn", shapes.DB_ARN),
        Identity("name", "rds:db:payments"),
        Identity("k8s", "DBInstance/payments/main"),
    ),
)
OWNED = {
    f"arn:{shapes.DB_ARN}": [
        Owned("acme/platform/database", "aws_db_instance.main", "aws_db_instance")
    ],
    "name:rds:db:payments": [
        Owned("acme/platform/database", "aws_db_instance.main", "aws_db_instance")
    ],
    "k8s:Deployment/payments/api": [Owned("acme/platform/apps", "kubernetes_deployment.api", "x")],
}


def test_an_arn_and_a_name_of_one_resource_make_one_finding_naming_the_arn() -> None:
    (finding,) = compute("p", [DB_CLAIM, DB_CLAIM], OWNED)
    assert finding.direction == AWS
    assert finding.identity == f"arn:{shapes.DB_ARN}"
    assert finding.key == finding_key(
        "p", "payments-db", DB, "acme/platform/database", "aws_db_instance.main"
    )
    assert "payments-db" in finding.describe() and "DBInstance payments/main" in finding.describe()


def test_a_kubernetes_object_in_a_stack_and_an_application_is_a_kubernetes_finding() -> None:
    api = ObjectRef("apps", "Deployment", "payments", "api")
    (finding,) = compute(
        "p", [Claim("payments", api, (Identity("k8s", "Deployment/payments/api"),))], OWNED
    )
    assert finding.direction == KUBERNETES and finding.stack_id == "acme/platform/apps"


def test_ids_never_match_and_nothing_shared_is_no_finding() -> None:
    claim = Claim("x", DB, (Identity("id", "db-KX5HB2DJ3Q4EXAMPLE"),))
    assert compute("p", [claim], {"id:db-KX5HB2DJ3Q4EXAMPLE": [Owned("s", "a", "t")]}) == []
    assert compute("p", [DB_CLAIM], {}) == []


def test_keys_are_stable_and_distinct() -> None:
    one = finding_key("p", "a", DB, "s", "x.y")
    assert one == finding_key("p", "a", DB, "s", "x.y")
    others = {finding_key("p", "b", DB, "s", "x.y"), finding_key("p", "a", DB, "s2", "x.y")}
    assert len({one, finding_key("q", "a", DB, "s", "x.y"), *others}) == 4


def test_reconcile_opens_keeps_reopens_and_closes() -> None:
    (finding,) = compute("p", [DB_CLAIM], OWNED)
    first = reconcile([], [finding], {"payments-db"}, {"payments-db"})
    assert first.new == [finding] and not first.closed
    again = reconcile([Stored(finding.key, OPEN, "payments-db")], [finding], set(), {"payments-db"})
    assert again.seen_again == [finding.key] and not again.new
    back = reconcile([Stored(finding.key, CLOSED, "payments-db")], [finding], set(), set())
    assert back.reopened == [finding]
    dropped = reconcile(
        [Stored(finding.key, OPEN, "payments-db")], [], {"payments-db"}, {"payments-db"}
    )
    assert "no longer manages" in dropped.closed[finding.key]
    gone = reconcile([Stored(finding.key, OPEN, "payments-db")], [], set(), set())
    assert "no longer exists" in gone.closed[finding.key]


def test_an_application_that_could_not_be_read_keeps_its_findings_open() -> None:
    (finding,) = compute("p", [DB_CLAIM], OWNED)
    unread = reconcile([Stored(finding.key, OPEN, "payments-db")], [], set(), {"payments-db"})
    assert unread.closed == {} and unread.new == []
