"""deploy/helm/stackrun rendered by Helm's engine, with the default values and the production
example, and every object checked as the Kubernetes API server would (strict schemas), plus the
references between objects that no schema sees."""

from __future__ import annotations

from functools import cache
from typing import Any

import kubernetes_validate
import pytest
from kombu.transport.redis import Channel

from orchestrator.runs.queue import PROPOSED_PRIORITY
from tests.support.helm_chart import (
    CRD_SCHEMAS,
    KUBERNETES_VERSIONS,
    PRODUCTION_VALUES,
    Manifest,
    lint,
    render,
    schema_errors,
    values_file,
)

WORKLOADS = ("Deployment", "Job")
OPTIONAL_KINDS = {"Ingress", "ServiceMonitor", "ScaledObject", "TriggerAuthentication"}
ALWAYS_KINDS = {
    "Deployment",
    "Service",
    "Job",
    "ServiceAccount",
    "PodDisruptionBudget",
    "NetworkPolicy",
}


@cache
def _rendered(example: str) -> tuple[Manifest, ...]:
    values = values_file(PRODUCTION_VALUES) if example == "production" else None
    return tuple(render(values))


def _one(manifests: tuple[Manifest, ...], kind: str, name: str) -> dict[str, Any]:
    found = [m.document for m in manifests if m.kind == kind and m.name == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def _pod_templates(manifests: tuple[Manifest, ...]) -> dict[str, dict[str, Any]]:
    return {
        f"{m.kind}/{m.name}": m.document["spec"]["template"]
        for m in manifests
        if m.kind in WORKLOADS
    }


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and the In operator of matchExpressions) against labels."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "the chart uses only In expressions"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


EXAMPLES = ("default", "production")


@pytest.mark.parametrize("example", EXAMPLES)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_validates_against_kubernetes_strict_schemas(
    example: str, version: str
) -> None:
    manifests = _rendered(example)
    errors = {str(m): schema_errors(m.document, version) for m in manifests}
    assert {name: found for name, found in errors.items() if found} == {}


def test_the_production_example_turns_every_optional_object_on_and_the_defaults_none() -> None:
    default_kinds = {m.kind for m in _rendered("default")}
    production_kinds = {m.kind for m in _rendered("production")}
    assert default_kinds == ALWAYS_KINDS
    assert production_kinds == ALWAYS_KINDS | OPTIONAL_KINDS


def test_kinds_without_a_schema_here_are_exactly_the_crd_kinds_with_a_schema_of_ours() -> None:
    """Our CRD schemas stand in for kubernetes-validate's only where it has none: each is for a
    kind the chart renders, and every other rendered kind has a kubernetes-validate schema."""
    without_schema = set()
    for manifest in _rendered("production"):
        try:
            kubernetes_validate.validate(manifest.document, KUBERNETES_VERSIONS[-1], strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            without_schema.add((manifest.api_version, manifest.kind))
        except kubernetes_validate.ValidationError:
            pass  # has a schema; errors are the business of the test above
    assert without_schema == set(CRD_SCHEMAS)


def test_a_broken_object_is_refused_by_the_strict_validation() -> None:
    deployment = dict(_one(_rendered("default"), "Deployment", "stackrun-api"))
    deployment["spec"] = {**deployment["spec"], "replicas": "two", "paused_": True}
    assert schema_errors(deployment, KUBERNETES_VERSIONS[-1]) != []
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert schema_errors(unknown, KUBERNETES_VERSIONS[-1]) != []
    scaled = dict(_one(_rendered("production"), "ScaledObject", "stackrun-worker"))
    scaled["metadata"] = {**scaled["metadata"], "lables": {"a": "b"}}
    assert schema_errors(scaled, KUBERNETES_VERSIONS[-1]) != [], "CRD kinds' metadata is checked"


@pytest.mark.parametrize("example", EXAMPLES)
def test_object_names_are_unique_and_namespace_is_left_to_the_release(example: str) -> None:
    manifests = _rendered(example)
    keys = [(m.kind, m.name) for m in manifests]
    assert len(keys) == len(set(keys))
    assert [str(m) for m in manifests if "namespace" in m.document["metadata"]] == []


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_selector_selects_the_pods_it_is_for(example: str) -> None:
    manifests = _rendered(example)
    pods = _pod_templates(manifests)
    api_labels = pods["Deployment/stackrun-api"]["metadata"]["labels"]

    for deployment in (m for m in manifests if m.kind == "Deployment"):
        spec = deployment.document["spec"]
        assert _matches(spec["selector"], spec["template"]["metadata"]["labels"]), deployment

    service = _one(manifests, "Service", "stackrun-api")
    assert _matches({"matchLabels": service["spec"]["selector"]}, api_labels)
    pdb = _one(manifests, "PodDisruptionBudget", "stackrun-api")
    assert [
        n for n, p in pods.items() if _matches(pdb["spec"]["selector"], p["metadata"]["labels"])
    ] == ["Deployment/stackrun-api"]
    api_policy = _one(manifests, "NetworkPolicy", "stackrun-api")
    deny = _one(manifests, "NetworkPolicy", "stackrun-deny-ingress")
    for name, pod in pods.items():
        labels = pod["metadata"]["labels"]
        covered = [
            policy["metadata"]["name"]
            for policy in (api_policy, deny)
            if _matches(policy["spec"]["podSelector"], labels)
        ]
        assert len(covered) == 1, f"{name} is under {covered}: every pod under exactly one policy"
    assert deny["spec"].get("ingress") is None, "workers, beat and migrate accept no connection"
    port_names = {
        port["name"]
        for container in pods["Deployment/stackrun-api"]["spec"]["containers"]
        for port in container.get("ports", [])
    }
    assert {
        p["port"] for rule in api_policy["spec"]["ingress"] for p in rule["ports"]
    } <= port_names


def test_the_api_policy_always_lets_the_releases_own_pods_in_when_it_narrows_the_sources() -> None:
    """Workers and Terraform's http backend call the API: a narrowed `from` keeps them."""
    manifests = _rendered("production")
    pods = _pod_templates(manifests)
    policy = _one(manifests, "NetworkPolicy", "stackrun-api")
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    worker_labels = pods["Deployment/stackrun-worker"]["metadata"]["labels"]
    assert any("podSelector" in p and _matches(p["podSelector"], worker_labels) for p in peers)
    assert len(peers) == 3  # the release's pods, ingress-nginx, monitoring


@pytest.mark.parametrize("example", EXAMPLES)
def test_pods_run_as_the_charts_service_accounts_and_the_migrate_hook_as_the_default(
    example: str,
) -> None:
    manifests = _rendered(example)
    accounts = {m.name for m in manifests if m.kind == "ServiceAccount"}
    used = {
        name: pod["spec"].get("serviceAccountName")
        for name, pod in _pod_templates(manifests).items()
    }
    assert used == {
        "Deployment/stackrun-api": "stackrun",
        "Deployment/stackrun-beat": "stackrun",
        "Deployment/stackrun-worker": "stackrun-worker",
        # A pre-install hook runs before the release's ServiceAccounts exist.
        "Job/stackrun-migrate": None,
    }
    assert {name for name in used.values() if name} == accounts
    for pod in _pod_templates(manifests).values():
        assert pod["spec"]["automountServiceAccountToken"] is False


def test_the_production_example_annotates_the_service_accounts_for_irsa() -> None:
    manifests = _rendered("production")
    role = "eks.amazonaws.com/role-arn"
    worker = _one(manifests, "ServiceAccount", "stackrun-worker")["metadata"]["annotations"]
    api = _one(manifests, "ServiceAccount", "stackrun")["metadata"]["annotations"]
    assert worker[role] == "arn:aws:iam::111122223333:role/stackrun-worker"
    assert api[role] == "arn:aws:iam::111122223333:role/stackrun-api"
    assert all(
        "annotations" not in m.document["metadata"]
        for m in _rendered("default")
        if m.kind == "ServiceAccount"
    )


def test_the_scaled_object_scales_the_worker_deployment_on_both_redis_lists_of_its_queue() -> None:
    """kombu's Redis transport keeps a queue's priority-0 messages in the list named after the
    queue and proposed runs (PROPOSED_PRIORITY) in "<queue><sep><priority>": both count."""
    manifests = _rendered("production")
    scaled = _one(manifests, "ScaledObject", "stackrun-worker")["spec"]
    worker = _one(manifests, "Deployment", "stackrun-worker")
    assert scaled["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "stackrun-worker",
    }
    assert "replicas" not in worker["spec"], "KEDA owns the replica count"
    args = worker["spec"]["template"]["spec"]["containers"][0]["args"]
    queue = args[args.index("--pool") + 1]
    lists = {t["name"]: t["metadata"]["listName"] for t in scaled["triggers"]}
    assert lists == {
        "tracked": queue,
        "proposed": f"{queue}{Channel.sep}{PROPOSED_PRIORITY}",
    }
    for trigger in scaled["triggers"]:
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["address"] == "stackrun.abc123.euw1.cache.amazonaws.com:6379"
        assert trigger["metadata"]["enableTLS"] == "true"
        assert all(isinstance(v, str) for v in trigger["metadata"].values())
        assert trigger["authenticationRef"] == {"name": "stackrun-redis"}
    assert scaled["advanced"]["scalingModifiers"]["formula"] == "tracked + proposed"
    auth = _one(manifests, "TriggerAuthentication", "stackrun-redis")["spec"]
    assert auth["secretTargetRef"] == [
        {"parameter": "password", "name": "stackrun", "key": "redis-auth-token"}
    ]


def test_without_autoscaling_the_worker_deployment_keeps_its_replicas() -> None:
    worker = _one(_rendered("default"), "Deployment", "stackrun-worker")
    assert worker["spec"]["replicas"] == 2


def test_the_ingress_and_service_monitor_point_at_the_api_service_port() -> None:
    manifests = _rendered("production")
    service = _one(manifests, "Service", "stackrun-api")
    service_ports = {p["name"] for p in service["spec"]["ports"]}
    ingress = _one(manifests, "Ingress", "stackrun-api")["spec"]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "stackrun-api", "port": {"name": "http"}}
    assert backend["port"]["name"] in service_ports
    assert ingress["tls"] == [{"hosts": ["stackrun.example.com"], "secretName": "stackrun-tls"}]
    monitor = _one(manifests, "ServiceMonitor", "stackrun-api")
    assert _matches(monitor["spec"]["selector"], service["metadata"]["labels"])
    assert monitor["spec"]["endpoints"][0]["port"] in service_ports
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_the_production_pdb_keeps_two_api_pods() -> None:
    pdb = _one(_rendered("production"), "PodDisruptionBudget", "stackrun-api")["spec"]
    assert (pdb.get("minAvailable"), pdb.get("maxUnavailable")) == (2, None)
    default = _one(_rendered("default"), "PodDisruptionBudget", "stackrun-api")["spec"]
    assert (default.get("minAvailable"), default.get("maxUnavailable")) == (None, 1)


@pytest.mark.parametrize("example", EXAMPLES)
def test_helm_lint_finds_no_warning_or_error(example: str) -> None:
    values = values_file(PRODUCTION_VALUES) if example == "production" else None
    assert lint(values) == []


def test_helm_lint_reports_a_template_error() -> None:
    """The lint check can fail: values the schema refuses are an error finding."""
    assert lint({"worker": {"sandbox": "off"}}) != []
