"""The hand-written CRD schemas (tests/data/chart/crd-schemas/) refuse what the CRDs refuse: a
broken ServiceMonitor, ScaledObject or TriggerAuthentication of the production example fails
`schema_errors`, with the offending field named."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from tests.support.helm_chart import (
    CRD_SCHEMA_DIR,
    CRD_SCHEMAS,
    KUBERNETES_VERSIONS,
    PRODUCTION_VALUES,
    crd_validator,
    render,
    schema_errors,
    values_file,
)

NEWEST = KUBERNETES_VERSIONS[-1]
Change = Callable[[dict[str, Any]], object]


@cache
def _production(kind: str) -> dict[str, Any]:
    found = [m.document for m in render(values_file(PRODUCTION_VALUES)) if m.kind == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _broken(kind: str) -> dict[str, Any]:
    """A deep copy of the production example's object of `kind`, free to break."""
    return copy.deepcopy(_production(kind))


def _refused(document: dict[str, Any], field: str) -> None:
    errors = schema_errors(document, NEWEST)
    assert errors != [], "the broken object validates"
    assert any(field in error for error in errors), errors


def test_every_crd_schema_is_a_valid_schema_that_names_its_upstream_source() -> None:
    assert sorted(p.name for p in CRD_SCHEMA_DIR.glob("*.json")) == sorted(CRD_SCHEMAS.values())
    for (api_version, kind), name in CRD_SCHEMAS.items():
        crd_validator(api_version, kind)  # checks the schema against draft 2020-12
        schema = json.loads((CRD_SCHEMA_DIR / name).read_text(encoding="utf-8"))
        assert schema["properties"]["kind"] == {"const": kind}
        assert schema["properties"]["apiVersion"] == {"const": api_version}
        assert "reduced" in schema["description"] and "openAPIV3Schema" in schema["description"]
    assert (CRD_SCHEMA_DIR / "README.md").is_file()


@pytest.mark.parametrize("kind", ["ServiceMonitor", "ScaledObject", "TriggerAuthentication"])
def test_the_production_examples_crd_objects_validate(kind: str) -> None:
    assert schema_errors(_production(kind), NEWEST) == []


def test_a_trigger_without_a_type_is_refused() -> None:
    scaled = _broken("ScaledObject")
    del scaled["spec"]["triggers"][0]["type"]
    _refused(scaled, "'type' is a required property")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda spec: spec.update(maxReplicaCont=20), "maxReplicaCont"),
        (lambda spec: spec["scaleTargetRef"].pop("name"), "'name' is a required property"),
        (lambda spec: spec.update(minReplicaCount="2"), "minReplicaCount"),
        (lambda spec: spec.update(triggers=[]), "triggers"),
        (lambda spec: spec["triggers"][1]["metadata"].update(databaseIndex=0), "databaseIndex"),
        (lambda spec: spec["triggers"][0].update(authRef={"name": "x"}), "authRef"),
        (
            lambda spec: spec["advanced"]["scalingModifiers"].update(metricType="Utilization"),
            "metricType",
        ),
    ],
    ids=[
        "unknown-spec-key",
        "target-without-name",
        "count-not-an-integer",
        "no-trigger",
        "metadata-value-not-a-string",
        "unknown-trigger-key",
        "metric-type-not-in-enum",
    ],
)
def test_a_broken_scaled_object_is_refused(change: Change, field: str) -> None:
    scaled = _broken("ScaledObject")
    change(scaled["spec"])
    _refused(scaled, field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda spec: spec.pop("selector"), "'selector' is a required property"),
        (lambda spec: spec["endpoints"][0].update(scheme="ftp"), "scheme"),
        (lambda spec: spec["endpoints"][0].update(interval="30 seconds"), "interval"),
        (lambda spec: spec["endpoints"][0].update(paht="/metrics"), "paht"),
        (lambda spec: spec.update(namespaceSelector={"matchName": ["stackrun"]}), "matchName"),
    ],
    ids=[
        "no-selector",
        "scheme-not-in-enum",
        "interval-not-a-duration",
        "unknown-endpoint-key",
        "unknown-namespace-selector-key",
    ],
)
def test_a_broken_service_monitor_is_refused(change: Change, field: str) -> None:
    monitor = _broken("ServiceMonitor")
    change(monitor["spec"])
    _refused(monitor, field)


def test_a_secret_target_ref_without_its_key_is_refused() -> None:
    auth = _broken("TriggerAuthentication")
    del auth["spec"]["secretTargetRef"][0]["key"]
    _refused(auth, "'key' is a required property")
    auth = _broken("TriggerAuthentication")
    auth["spec"]["secretTargetRefs"] = auth["spec"].pop("secretTargetRef")
    _refused(auth, "secretTargetRefs")


def test_a_crd_objects_metadata_is_still_checked_by_kubernetes_validate() -> None:
    scaled = _broken("ScaledObject")
    scaled["metadata"]["lables"] = {"a": "b"}
    _refused(scaled, "lables")
