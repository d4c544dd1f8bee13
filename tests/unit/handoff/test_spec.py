"""The `gitops_bridge` output of a stack: what passes, what is said."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.handoff.spec import GitopsBridge, bridge_from_outputs

ARN = "arn:aws:eks:us-east-1:123:cluster/x"


def _outputs(**value: Any) -> dict[str, Any]:
    bridge = {"cluster_name": "platform", "server": "https://eks.example.com", **value}
    return {
        "gitops_bridge": {
            "sensitive": False,
            "type": ["object", {"cluster_name": "string", "server": "string"}],
            "value": {k: v for k, v in bridge.items() if v is not None},
        }
    }


def test_a_terraform_output_json_gives_the_bridge() -> None:
    outputs = _outputs(
        labels={"environment": "dev", "enable_argocd": "true"},
        annotations={"aws_cluster_arn": ARN, "addons_repo_url": "https://git.example.com/a"},
    )
    bridge, errors = bridge_from_outputs(outputs)
    assert errors == []
    assert bridge == GitopsBridge(
        cluster_name="platform",
        server="https://eks.example.com",
        labels={"environment": "dev", "enable_argocd": "true"},
        annotations={"aws_cluster_arn": ARN, "addons_repo_url": "https://git.example.com/a"},
    )


def test_a_bare_value_without_the_output_envelope_is_accepted() -> None:
    bridge, errors = bridge_from_outputs(
        {"gitops_bridge": {"cluster_name": "platform", "server": "https://eks.example.com"}}
    )
    assert errors == [] and bridge is not None and bridge.labels == {}


def test_a_stack_without_the_output_is_told_what_to_declare() -> None:
    bridge, errors = bridge_from_outputs({"vpc_id": {"sensitive": False, "value": "vpc-1"}})
    assert bridge is None
    assert errors == [
        'the stack has no gitops_bridge output; declare output "gitops_bridge" = '
        "{cluster_name, server, labels, annotations}"
    ]


def test_an_arn_as_a_label_value_is_refused_and_pointed_to_annotations() -> None:
    bridge, errors = bridge_from_outputs(_outputs(labels={"cluster_arn": ARN}))
    assert bridge is None and len(errors) == 1
    assert errors[0].startswith("gitops_bridge.labels: label 'cluster_arn' has the invalid value")
    assert "put ARNs, URLs and other values in annotations" in errors[0]


def test_a_label_value_of_64_characters_is_refused_but_63_is_fine() -> None:
    bridge, errors = bridge_from_outputs(_outputs(labels={"team": "a" * 64}))
    assert bridge is None and len(errors) == 1 and "label 'team'" in errors[0]
    bridge, errors = bridge_from_outputs(_outputs(labels={"team": "a" * 63}))
    assert errors == [] and bridge is not None


@pytest.mark.parametrize("name", ["Platform", "platform.eu", "a" * 64, "-platform"])
def test_a_cluster_name_that_is_not_a_dns_label_is_refused(name: str) -> None:
    bridge, errors = bridge_from_outputs(_outputs(cluster_name=name))
    assert bridge is None
    assert errors == [
        f"gitops_bridge.cluster_name {name!r} must be a DNS label (lowercase letters, digits "
        "and '-', at most 63 characters): it names Kubernetes objects"
    ]


def test_a_label_key_reserved_for_argo_cd_is_refused() -> None:
    bridge, errors = bridge_from_outputs(
        _outputs(labels={"argocd.argoproj.io/secret-type": "repository"})
    )
    assert bridge is None
    assert errors == [
        "gitops_bridge.labels: key 'argocd.argoproj.io/secret-type' is reserved for Argo CD"
    ]


def test_bad_keys_non_string_values_and_a_missing_server_are_all_reported() -> None:
    outputs = _outputs(
        server=None,
        labels={"enable_argocd": True, "Bad_Prefix/x": "1"},
        annotations={"": "empty key"},
    )
    bridge, errors = bridge_from_outputs(outputs)
    assert bridge is None
    assert errors == [
        "gitops_bridge.server must be the cluster's API URL, got None",
        "gitops_bridge.labels: values must be strings (enable_argocd)",
        "gitops_bridge.labels: key 'Bad_Prefix/x': the prefix must be a DNS subdomain",
        "gitops_bridge.annotations: key '': the name part must be 1-63 characters of "
        "[A-Za-z0-9-_.], starting and ending alphanumeric",
    ]
