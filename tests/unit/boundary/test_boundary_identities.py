"""Identity extraction from Terraform state and from ACK and Crossplane manifests."""

from __future__ import annotations

import copy

from orchestrator.boundary.identities import (
    Identity,
    kubernetes_kind,
    parse_arn,
    resources_of_state,
)
from orchestrator.boundary.index import prior_state
from orchestrator.boundary.kinds import BUILTIN, identities_of_object, ordered, parse_rules
from tests.unit.boundary import shapes


def _by_address() -> dict[str, set[str]]:
    return {r.address: {i.key for i in r.identities} for r in resources_of_state(shapes.STATE)}


def test_aws_resources_in_state_are_known_by_arn_and_typed_name_never_by_id() -> None:
    found = _by_address()
    assert found["aws_db_instance.main"] == {
        f"arn:{shapes.DB_ARN}",
        "name:rds:db:payments",
    }
    assert found["aws_s3_bucket.assets"] == {
        f"arn:{shapes.BUCKET_ARN}",
        "name:s3:bucket:payments-assets",
    }
    assert found["aws_iam_role.app"] == {
        f"arn:{shapes.ROLE_ARN}",
        "name:iam:role:payments-app",
    }


def test_kubernetes_objects_and_helm_releases_in_state_are_known_by_kind_namespace_name() -> None:
    found = _by_address()
    assert "k8s:Deployment/payments/api" in found["kubernetes_deployment.api"]
    assert "helm:argocd/argo-cd" in found["helm_release.argocd"]


def test_data_sources_are_not_owned() -> None:
    assert not any(address.startswith("data.") for address in _by_address())
    assert "aws_caller_identity.current" not in _by_address()


def test_arns_are_parsed_into_their_parts() -> None:
    arn = parse_arn(shapes.ROLE_ARN)
    assert arn is not None
    assert (arn.partition, arn.service, arn.region, arn.account) == (
        "aws",
        "iam",
        "",
        "111122223333",
    )
    assert (arn.resource_type, arn.resource_name) == ("role", "payments-app")
    bucket = parse_arn(shapes.BUCKET_ARN)
    assert bucket is not None and (bucket.resource_type, bucket.resource_name) == (
        "bucket",
        "payments-assets",
    )
    china = parse_arn("arn:aws-cn:rds:cn-north-1:111122223333:db:x")
    assert china is not None and china.partition == "aws-cn"


def test_malformed_arns_are_no_identity() -> None:
    for text in (
        "arn:aws:rds",
        "arn:aws:rds:eu-west-1:12345:db:payments",
        "arn:aws:rds:eu-west-1:111122223333:",
        "arn:aws:rds:eu-west-1:111122223333:db:pay ments",
        "ARN:aws:rds:eu-west-1:111122223333:db:payments",
        "arn:aws:rds:eu-west-1:111122223333:db:" + "x" * 2000,
        None,
        42,
    ):
        assert parse_arn(text) is None, text
    state = {"resources": [dict(shapes.STATE["resources"][1])]}
    state["resources"][0]["instances"] = [{"attributes": {"arn": "arn:aws:rds:bogus", "id": "x"}}]
    assert [r.identities for r in resources_of_state(state)] in ([], [()])


def test_show_json_values_and_a_plans_prior_state_are_read_too() -> None:
    plan = {
        "prior_state": {
            "values": {
                "root_module": {
                    "child_modules": [
                        {
                            "resources": [
                                {
                                    "address": "module.db.aws_db_instance.main",
                                    "mode": "managed",
                                    "type": "aws_db_instance",
                                    "values": {"arn": shapes.DB_ARN, "identifier": "payments"},
                                }
                            ]
                        }
                    ]
                }
            }
        },
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_s3_bucket.new",
                        "mode": "managed",
                        "type": "aws_s3_bucket",
                        "values": {"bucket": "fresh"},
                    }
                ]
            }
        },
    }
    found = {r.address: r for r in resources_of_state(prior_state(plan))}
    assert Identity("arn", shapes.DB_ARN) in found["module.db.aws_db_instance.main"].identities
    assert found["aws_s3_bucket.new"].identities == (Identity("name", "s3:bucket:fresh"),)


def test_kubernetes_resource_types_name_their_kind() -> None:
    assert kubernetes_kind("kubernetes_deployment_v1") == "Deployment"
    assert kubernetes_kind("kubernetes_config_map") == "ConfigMap"
    assert kubernetes_kind("kubernetes_daemonset") == "DaemonSet"


def _keys(manifest: dict[str, object]) -> set[str]:
    return {i.key for i in identities_of_object(ordered([]), manifest)}


def test_ack_objects_are_known_by_their_arn_and_aws_name() -> None:
    assert _keys(shapes.ACK_DB_INSTANCE) == {
        "k8s:DBInstance/payments/main",
        f"arn:{shapes.DB_ARN}",
        "name:rds:db:payments",
    }
    shouting = copy.deepcopy(shapes.ACK_DB_INSTANCE)
    shouting["spec"]["dbInstanceIdentifier"] = "Payments"
    assert "name:rds:db:payments" in _keys(shouting), "AWS stores the identifier lowercase"
    assert f"arn:{shapes.BUCKET_ARN}" in _keys(shapes.ACK_BUCKET)
    assert "name:s3:bucket:payments-assets" in _keys(shapes.ACK_BUCKET)
    assert {f"arn:{shapes.ROLE_ARN}", "name:iam:role:payments-app"} <= _keys(shapes.ACK_ROLE)


def test_crossplane_objects_are_known_by_external_name_and_at_provider_arn() -> None:
    assert {f"arn:{shapes.DB_ARN}", "name:rds:db:payments"} <= _keys(shapes.CROSSPLANE_INSTANCE)
    # a bucket not yet reconciled has no ARN: its external name alone meets the stack's bucket
    assert _keys(shapes.CROSSPLANE_BUCKET) == {
        "k8s:Bucket//payments-assets",
        "name:s3:bucket:payments-assets",
    }


def test_crossplane_namespaced_managed_resources_are_known_too() -> None:
    bucket = copy.deepcopy(shapes.CROSSPLANE_BUCKET)
    bucket["apiVersion"] = "s3.aws.m.upbound.io/v1beta1"
    bucket["metadata"]["namespace"] = "payments"
    assert "name:s3:bucket:payments-assets" in _keys(bucket)
    table = {
        "apiVersion": "glue.aws.m.upbound.io/v1beta1",
        "kind": "CatalogTable",
        "metadata": {"name": "t", "namespace": "data"},
        "status": {"atProvider": {"arn": "arn:aws:glue:eu-west-1:111122223333:table/db/t"}},
    }
    assert "arn:arn:aws:glue:eu-west-1:111122223333:table/db/t" in _keys(table)


def test_other_kinds_are_only_kubernetes_objects() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}}
    assert _keys(deployment) == {"k8s:Deployment//api"}


def test_a_setting_extends_the_kinds_table_and_bad_entries_are_reported() -> None:
    rules, problems = parse_rules(
        '[{"group": "elasticache.example.io", "kind": "Cluster", '
        '"arn_fields": ["status.arn"], "name_fields": ["spec.id"], '
        '"service": "elasticache", "type": "cluster"}, {"group": ""}, 3]'
    )
    assert len(rules) == 1 and len(problems) == 2
    assert "entry 2" in problems[0] and "entry 3" in problems[1]
    custom = {
        "apiVersion": "elasticache.example.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "c", "namespace": "n"},
        "spec": {"id": "cache"},
        "status": {"arn": "arn:aws:elasticache:eu-west-1:111122223333:cluster:cache"},
    }
    keys = {i.key for i in identities_of_object(ordered(rules), custom)}
    assert "name:elasticache:cluster:cache" in keys
    assert parse_rules("not json")[1][0].startswith("STACKRUN_BOUNDARY_KINDS is not JSON")
    assert len(ordered(rules)) == len(BUILTIN) + 1
