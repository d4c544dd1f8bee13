"""Real shapes, trimmed to the fields that matter, of both sides of the boundary.

Terraform: state format 4 as `terraform state pull` prints it, with the attribute names of the
hashicorp/aws provider (v5: aws_db_instance `identifier`, `arn`, `id` = the DBI resource id;
aws_s3_bucket `bucket`, `id` = the name; aws_iam_role `name`, `path`, `id` = the name) and the
hashicorp/kubernetes and hashicorp/helm providers (`metadata` a one-element list; helm_release
`name`, `namespace`, `chart`).

ACK: the CRDs of aws-controllers-k8s (rds-controller config/crd/bases/
rds.services.k8s.aws_dbinstances.yaml, s3-controller .../s3.services.k8s.aws_buckets.yaml,
iam-controller .../iam.services.k8s.aws_roles.yaml, all v1alpha1): every resource reports
`status.ackResourceMetadata.{arn, ownerAccountID, region}`; a DBInstance is named by
`spec.dbInstanceIdentifier`, a Bucket and a Role by `spec.name`.

Crossplane: the Upbound AWS provider's CRDs (crossplane-contrib/provider-upjet-aws
package/crds/rds.aws.upbound.io_instances.yaml and s3.aws.upbound.io_buckets.yaml, v1beta1):
the AWS name is the `crossplane.io/external-name` annotation, `status.atProvider.arn` the ARN.
"""

from __future__ import annotations

from typing import Any

ACCOUNT = "111122223333"
DB_ARN = f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:payments"
BUCKET_ARN = "arn:aws:s3:::payments-assets"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service/payments-app"


def _resource(rtype: str, name: str, provider: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider": f'provider["registry.terraform.io/hashicorp/{provider}"]',
        "instances": [{"schema_version": 0, "attributes": attributes, "sensitive_attributes": []}],
    }


STATE: dict[str, Any] = {
    "version": 4,
    "terraform_version": "1.9.8",
    "serial": 12,
    "lineage": "6f0f2a8e-1c1b-4a4e-9d0a-3a1f2b9c8d7e",
    "outputs": {},
    "resources": [
        {
            "mode": "data",
            "type": "aws_caller_identity",
            "name": "current",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [
                {"attributes": {"account_id": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root"}}
            ],
        },
        _resource(
            "aws_db_instance",
            "main",
            "aws",
            {
                "address": "payments.c9akciq32.eu-west-1.rds.amazonaws.com",
                "allocated_storage": 20,
                "arn": DB_ARN,
                "engine": "postgres",
                "id": "db-KX5HB2DJ3Q4EXAMPLE",
                "identifier": "payments",
                "instance_class": "db.t4g.micro",
                "resource_id": "db-KX5HB2DJ3Q4EXAMPLE",
            },
        ),
        _resource(
            "aws_s3_bucket",
            "assets",
            "aws",
            {
                "arn": BUCKET_ARN,
                "bucket": "payments-assets",
                "bucket_domain_name": "payments-assets.s3.amazonaws.com",
                "id": "payments-assets",
                "region": "eu-west-1",
            },
        ),
        _resource(
            "aws_iam_role",
            "app",
            "aws",
            {
                "arn": ROLE_ARN,
                "assume_role_policy": '{"Version":"2012-10-17","Statement":[]}',
                "id": "payments-app",
                "name": "payments-app",
                "path": "/service/",
                "unique_id": "AROA3XFRBF535EXAMPLE",
            },
        ),
        _resource(
            "kubernetes_deployment",
            "api",
            "kubernetes",
            {
                "id": "payments/api",
                "metadata": [
                    {"name": "api", "namespace": "payments", "labels": {"app": "api"}, "uid": "u1"}
                ],
                "spec": [{"replicas": "2"}],
                "wait_for_rollout": True,
            },
        ),
        _resource(
            "helm_release",
            "argocd",
            "helm",
            {
                "id": "argo-cd",
                "chart": "argo-cd",
                "name": "argo-cd",
                "namespace": "argocd",
                "repository": "https://argoproj.github.io/argo-helm",
                "version": "7.7.0",
                "status": "deployed",
            },
        ),
    ],
}

ACK_DB_INSTANCE: dict[str, Any] = {
    "apiVersion": "rds.services.k8s.aws/v1alpha1",
    "kind": "DBInstance",
    "metadata": {"name": "main", "namespace": "payments"},
    "spec": {
        "allocatedStorage": 20,
        "dbInstanceClass": "db.t4g.micro",
        "dbInstanceIdentifier": "payments",
        "engine": "postgres",
        "masterUsername": "payments",
        "masterUserPassword": {"namespace": "payments", "name": "db-password", "key": "password"},
    },
    "status": {
        "ackResourceMetadata": {"arn": DB_ARN, "ownerAccountID": ACCOUNT, "region": "eu-west-1"},
        "dbInstanceStatus": "available",
        "conditions": [{"type": "ACK.ResourceSynced", "status": "True"}],
    },
}

ACK_BUCKET: dict[str, Any] = {
    "apiVersion": "s3.services.k8s.aws/v1alpha1",
    "kind": "Bucket",
    "metadata": {"name": "assets", "namespace": "payments"},
    "spec": {"name": "payments-assets"},
    "status": {
        "ackResourceMetadata": {
            "arn": BUCKET_ARN,
            "ownerAccountID": ACCOUNT,
            "region": "eu-west-1",
        },
        "location": "http://payments-assets.s3.amazonaws.com/",
    },
}

ACK_ROLE: dict[str, Any] = {
    "apiVersion": "iam.services.k8s.aws/v1alpha1",
    "kind": "Role",
    "metadata": {"name": "app", "namespace": "payments"},
    "spec": {
        "name": "payments-app",
        "path": "/service/",
        "assumeRolePolicyDocument": '{"Version":"2012-10-17","Statement":[]}',
    },
    "status": {
        "ackResourceMetadata": {"arn": ROLE_ARN, "ownerAccountID": ACCOUNT, "region": "eu-west-1"},
        "roleID": "AROA3XFRBF535EXAMPLE",
    },
}

CROSSPLANE_INSTANCE: dict[str, Any] = {
    "apiVersion": "rds.aws.upbound.io/v1beta1",
    "kind": "Instance",
    "metadata": {"name": "payments", "annotations": {"crossplane.io/external-name": "payments"}},
    "spec": {
        "forProvider": {
            "region": "eu-west-1",
            "instanceClass": "db.t4g.micro",
            "engine": "postgres",
            "allocatedStorage": 20,
            "username": "payments",
        },
        "providerConfigRef": {"name": "default"},
    },
    "status": {
        "atProvider": {"arn": DB_ARN, "id": "payments", "address": "payments.c9akciq32…"},
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}],
    },
}

CROSSPLANE_BUCKET: dict[str, Any] = {
    "apiVersion": "s3.aws.upbound.io/v1beta1",
    "kind": "Bucket",
    "metadata": {
        "name": "payments-assets",
        "annotations": {"crossplane.io/external-name": "payments-assets"},
    },
    "spec": {"forProvider": {"region": "eu-west-1"}, "providerConfigRef": {"name": "default"}},
    "status": {"atProvider": {}},
}
