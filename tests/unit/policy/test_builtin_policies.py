"""The built-in policies (orchestrator/policy/builtin/*.rego) through engine.evaluate, against
terraform 1.5.7 plan documents in tests/data/plans/ (written by hand: their providers cannot be
installed offline) and small hand-made inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from orchestrator.policy import engine
from orchestrator.policy.engine import Evaluated, PolicySource

BUILTIN = Path(engine.__file__).resolve().parent / "builtin"
PLANS = Path(__file__).resolve().parents[2] / "data" / "plans"
TYPES = {
    "boundary": "plan",
    "protect-stateful": "plan",
    "no-destroy-without-two-approvals": "approval",
    "argocd-also-manages": "plan",
}


def body(name: str) -> str:
    return (BUILTIN / f"{name}.rego").read_text()


def plan(name: str) -> dict[str, Any]:
    return json.loads((PLANS / f"{name}.json").read_text())


def plan_input(terraform: dict[str, Any], labels: list[str] | None) -> dict[str, Any]:
    stack: dict[str, Any] = {
        "id": "platform-eks",
        "name": "eks",
        "path": "platform/eks",
        "autodeploy": False,
        "repository": "acme/infra",
    }
    if labels is not None:
        stack["labels"] = labels
    return {
        "terraform": terraform,
        "stackrun": {
            "run": {
                "id": 42,
                "kind": "tracked",
                "commit": {
                    "sha": "0123456789abcdef0123456789abcdef01234567",
                    "author": "ana",
                    "message": "bump",
                    "branch": "main",
                },
                "triggered_by": "push",
            },
            "stack": stack,
            "previous_run": None,
        },
    }


def changes(*entries: tuple[str, list[str]]) -> dict[str, Any]:
    """A plan document holding only resource_changes, for addresses like `type.name`."""
    return {
        "format_version": "1.2",
        "terraform_version": "1.5.7",
        "resource_changes": [
            {
                "address": address,
                "mode": "data" if address.startswith("data.") else "managed",
                "type": address.removeprefix("data.").split(".")[0],
                "name": address.split(".")[-1],
                "change": {"actions": actions},
            }
            for address, actions in entries
        ],
    }


def denies(document: dict[str, Any]) -> dict[str, list[str]]:
    """The deny set of both plan policies, evaluated in one engine call."""
    policies = [PolicySource(n, body(n)) for n in ("boundary", "protect-stateful")]
    outcomes = engine.evaluate(policies, document)
    assert all(isinstance(o, Evaluated) for o in outcomes), outcomes
    return {o.policy: o.rules.get("deny", []) for o in outcomes if isinstance(o, Evaluated)}


def addresses(messages: list[str]) -> list[str]:
    return [m.split(": ", 1)[0] for m in messages]


# --- every built-in ----------------------------------------------------------------------


def test_every_builtin_file_is_listed_here() -> None:
    assert sorted(p.stem for p in BUILTIN.glob("*.rego")) == sorted(TYPES)


@pytest.mark.parametrize("name", sorted(TYPES))
def test_builtin_compiles(name: str) -> None:
    assert engine.check(name, body(name)) is None


@pytest.mark.parametrize(("name", "kind"), sorted(TYPES.items()))
def test_builtin_starts_with_its_type_header_and_a_description(name: str, kind: str) -> None:
    first, second, *_ = body(name).splitlines()
    assert first == f"# type: {kind}"
    assert re.fullmatch(r"# \S.{10,}", second), second
    assert engine.package_of(body(name)) == "stackrun." + name.replace("-", "_")


# --- boundary ----------------------------------------------------------------------------


def test_boundary_denies_creating_a_namespace_in_a_stack_without_the_bootstrap_label() -> None:
    found = denies(plan_input(plan("k8s-namespace-create"), ["platform"]))
    assert addresses(found["boundary"]) == ["kubernetes_namespace.apps"]
    (message,) = found["boundary"]
    assert "planned create" in message
    assert "Argo CD owns the cluster's contents" in message
    assert "add the `bootstrap` label to that stack" in message
    assert found["protect-stateful"] == []


def test_boundary_allows_in_cluster_changes_in_a_stack_labelled_bootstrap() -> None:
    found = denies(plan_input(plan("k8s-namespace-create"), ["platform", "bootstrap"]))
    assert found == {"boundary": [], "protect-stateful": []}


def test_boundary_denies_updating_a_helm_release() -> None:
    found = denies(plan_input(plan("helm-release-update"), []))
    assert addresses(found["boundary"]) == ["helm_release.argocd"]
    assert "planned update" in found["boundary"][0]


def test_boundary_denies_any_change_to_each_in_cluster_provider() -> None:
    document = changes(
        ("kubernetes_secret_v1.token", ["update"]),
        ("helm_release.ingress", ["create"]),
        ("kubectl_manifest.crd", ["delete"]),
        ("argocd_application.root", ["create", "delete"]),
    )
    found = denies(plan_input(document, ["platform"]))
    assert addresses(found["boundary"]) == [
        "argocd_application.root",
        "helm_release.ingress",
        "kubectl_manifest.crd",
        "kubernetes_secret_v1.token",
    ]
    assert "planned create+delete" in found["boundary"][0]


def test_boundary_ignores_no_op_reads_and_cloud_resources() -> None:
    document = changes(
        ("kubernetes_config_map_v1.cluster_info", ["no-op"]),
        ("data.kubernetes_secret_v1.ca", ["read"]),
        ("aws_eks_cluster.main", ["update"]),
        ("helmfile_release.legacy", ["create"]),
    )
    assert denies(plan_input(document, ["platform"]))["boundary"] == []


def test_boundary_treats_a_stack_without_labels_as_not_bootstrap() -> None:
    document = changes(("kubernetes_namespace.apps", ["create"]))
    assert addresses(denies(plan_input(document, None))["boundary"]) == [
        "kubernetes_namespace.apps"
    ]


def test_boundary_names_a_for_each_address() -> None:
    document = changes(('kubernetes_namespace.teams["payments"]', ["create"]))
    found = denies(plan_input(document, []))
    assert addresses(found["boundary"]) == ['kubernetes_namespace.teams["payments"]']


# --- protect-stateful --------------------------------------------------------------------


def test_protect_stateful_denies_replacing_a_database_and_allows_the_security_group_update() -> (
    None
):
    found = denies(plan_input(plan("aws-db-replace"), []))
    assert addresses(found["protect-stateful"]) == ["aws_db_instance.orders"]
    assert "would replace a stateful aws_db_instance" in found["protect-stateful"][0]
    assert found["boundary"] == []


def test_protect_stateful_denies_deleting_a_bucket() -> None:
    found = denies(plan_input(plan("aws-s3-delete"), []))
    assert addresses(found["protect-stateful"]) == ["aws_s3_bucket.artifacts"]
    assert "would delete a stateful aws_s3_bucket" in found["protect-stateful"][0]


def test_protect_stateful_honours_the_types_parameter() -> None:
    document = plan_input(
        changes(
            ("aws_db_instance.orders", ["delete", "create"]),
            ("aws_security_group.orders_db", ["delete"]),
            ("aws_iam_role.app", ["create", "delete"]),
            ("aws_kms_key.data", ["update"]),
        ),
        [],
    )
    stateful = body("protect-stateful")
    custom = {"parameters": {"types": ["aws_security_group", "aws_iam_role", "aws_kms_key"]}}
    outcomes = engine.evaluate(
        [
            PolicySource("defaults", stateful),
            PolicySource("custom", stateful, custom),
            PolicySource("other-parameters", stateful, {"parameters": {"unrelated": True}}),
        ],
        document,
    )
    deny = {o.policy: addresses(o.rules["deny"]) for o in outcomes if isinstance(o, Evaluated)}
    assert deny == {
        "defaults": ["aws_db_instance.orders"],
        "custom": ["aws_iam_role.app", "aws_security_group.orders_db"],
        "other-parameters": ["aws_db_instance.orders"],
    }


# --- no-destroy-without-two-approvals ----------------------------------------------------


def review(user: str) -> dict[str, Any]:
    return {"user": user, "roles": ["approver"], "at": "2024-05-14T09:00:00Z"}


def approval_input(approvals: list[str], rejections: list[str], destroy: int) -> dict[str, Any]:
    return {
        "reviews": {
            "approvals": [review(u) for u in approvals],
            "rejections": [review(u) for u in rejections],
        },
        "plan": {"add": 1, "change": 2, "destroy": destroy},
        "stackrun": plan_input({}, ["platform"])["stackrun"],
    }


def approval_decision(document: dict[str, Any]) -> str:
    name = "no-destroy-without-two-approvals"
    (outcome,) = engine.evaluate([PolicySource(name, body(name))], document)
    assert isinstance(outcome, Evaluated), outcome
    approve = outcome.rules.get("approve") is True
    reject = outcome.rules.get("reject") is True
    assert not (approve and reject)
    return "approve" if approve else "reject" if reject else "wait"


@pytest.mark.parametrize("approvers", [["ana"], ["ana", "bo"]])
def test_one_approval_approves_a_plan_that_destroys_nothing(approvers: list[str]) -> None:
    assert approval_decision(approval_input(approvers, [], 0)) == "approve"


@pytest.mark.parametrize(
    ("approvers", "expected"),
    [(["ana"], "wait"), (["ana", "ana"], "wait"), (["ana", "bo"], "approve")],
    ids=["one approver", "one approver twice", "two approvers"],
)
def test_a_plan_that_destroys_needs_two_distinct_approvers(
    approvers: list[str], expected: str
) -> None:
    assert approval_decision(approval_input(approvers, [], 3)) == expected


@pytest.mark.parametrize(
    ("approvers", "destroy"), [(["ana", "bo"], 0), (["ana", "bo"], 1), ([], 0)]
)
def test_a_rejection_rejects_even_with_approvals(approvers: list[str], destroy: int) -> None:
    assert approval_decision(approval_input(approvers, ["cy"], destroy)) == "reject"


@pytest.mark.parametrize(
    "document",
    [approval_input([], [], 0), {"plan": {"add": 0, "change": 0, "destroy": 0}}],
    ids=["empty reviews", "no reviews key"],
)
def test_without_reviews_it_neither_approves_nor_rejects(document: dict[str, Any]) -> None:
    assert approval_decision(document) == "wait"
