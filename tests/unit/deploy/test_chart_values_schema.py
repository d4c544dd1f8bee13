"""values.schema.json refuses bad values when Helm renders (helm template, helm install, Argo
CD's sync), naming the key, and renders nothing for them."""

from __future__ import annotations

import json
from pathlib import Path

import helm_python as helm
import pytest

from tests.support.helm_chart import CHART, PRODUCTION_VALUES, render, values_file

BAD_VALUES = Path(__file__).resolve().parents[2] / "data" / "chart"

# file -> (where Helm says the error is, the words of the reason: the key is in one of them)
REFUSED = {
    "bad-replicas-not-a-number.yaml": ("at '/api/replicas'", "got string, want integer"),
    "bad-sandbox-off.yaml": (
        "at '/worker/sandbox'",
        "value must be one of 'bwrap', 'auto', 'none'",
    ),
    "bad-unknown-key.yaml": ("at ''", "additional properties 'serviceAccountName' not allowed"),
    "bad-keda-without-redis-address.yaml": (
        "at '/worker/autoscaling/redis/address'",
        "minLength: got 0, want 1",
    ),
    "bad-ingress-without-host.yaml": ("at '/ingress/host'", "minLength: got 0, want 1"),
}


def test_every_bad_values_file_is_listed() -> None:
    assert sorted(p.name for p in BAD_VALUES.glob("bad-*.yaml")) == sorted(REFUSED)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_bad_values_are_refused_at_render_time_with_the_key_named(name: str) -> None:
    where, reason = REFUSED[name]
    values = values_file(BAD_VALUES / name)
    with pytest.raises(helm.HelmValuesError) as refused:
        render(values)
    message = str(refused.value)
    assert f"- {where}: {reason}" in message, message


def test_the_shipped_values_pass_the_schema() -> None:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(None)
        chart.validate_schema(values_file(PRODUCTION_VALUES))


def test_the_schema_closes_every_object_it_describes() -> None:
    """An unknown key anywhere under a described object is refused (a typo is not ignored):
    every object schema with properties either closes itself or is a Kubernetes object passed
    through whole."""
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    open_objects: list[str] = []

    def walk(node: dict[str, object], path: str) -> None:
        properties = node.get("properties")
        if isinstance(properties, dict):
            if node.get("additionalProperties") is not False:
                open_objects.append(path or "/")
            for key, sub in properties.items():
                if isinstance(sub, dict):
                    walk(sub, f"{path}/{key}")
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, f"{path}[]")
        definitions = node.get("definitions")
        if isinstance(definitions, dict):
            for key, sub in definitions.items():
                walk(sub, f"#/definitions/{key}")

    walk(schema, "")
    # extraEnv items are EnvVar objects: name is checked, value/valueFrom pass to Kubernetes.
    assert open_objects == ["/extraEnv[]"]


def test_a_typo_deep_in_the_values_is_refused() -> None:
    with pytest.raises(helm.HelmValuesError, match="'adress' not allowed"):
        render({"worker": {"autoscaling": {"redis": {"adress": "redis:6379"}}}})


def test_autoscaling_bounds_that_cross_are_refused_with_both_keys_named() -> None:
    """What JSON Schema cannot compare, the template refuses (`fail`) at render time."""
    crossed = {
        "worker": {
            "autoscaling": {
                "enabled": True,
                "minReplicas": 5,
                "maxReplicas": 3,
                "redis": {"address": "redis:6379"},
            }
        }
    }
    with pytest.raises(helm.HelmRenderError) as refused:
        render(crossed)
    assert "worker.autoscaling.minReplicas (5) is above worker.autoscaling.maxReplicas (3)" in str(
        refused.value
    )
