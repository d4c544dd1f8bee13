"""deploy/argocd/application.yaml, the Application that deploys stackrun with Argo CD, checked
against Argo CD's Application CRD schema (v3.5.1, packaged in orchestrator/handoff/schemas/
with its source and licence), closed like kubectl's strict field validation; and what it
deploys: the chart rendered with its values, every object validated."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.handoff.render import validation_errors
from tests.support.helm_chart import (
    ARGOCD_APPLICATION,
    CHART,
    KUBERNETES_VERSIONS,
    ROOT,
    merge_values,
    render,
    schema_errors,
    values_file,
)


def _application() -> dict[str, Any]:
    documents = [d for d in yaml.safe_load_all(ARGOCD_APPLICATION.read_text()) if d is not None]
    assert len(documents) == 1
    document: dict[str, Any] = documents[0]
    return document


def test_the_application_validates_against_argo_cds_crd_schema() -> None:
    application = _application()
    assert (application["apiVersion"], application["kind"]) == (
        "argoproj.io/v1alpha1",
        "Application",
    )
    assert validation_errors(application) == []


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = changed
    for part in parents:
        node = node[part]
    node[last] = value
    return changed


def _drop(document: dict[str, Any], path: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = changed
    for part in parents:
        node = node[part]
    del node[last]
    return changed


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (
            lambda a: _set(a, "spec.syncPolicy.automated.prune", "yes"),
            "spec.syncPolicy.automated.prune",
        ),
        (lambda a: _set(a, "spec.source.helm.valuesObjekt", {}), "valuesObjekt"),
        (lambda a: _drop(a, "spec.destination"), "destination"),
        (lambda a: _set(a, "metadata.name", "Stackrun_App"), "metadata.name"),
    ],
    ids=["wrong-type", "unknown-field", "missing-destination", "bad-name"],
)
def test_a_broken_application_is_refused_with_the_field_named(
    broken: Callable[[dict[str, Any]], dict[str, Any]], named: str
) -> None:
    errors = validation_errors(broken(_application()))
    assert errors != []
    assert any(named in error for error in errors), errors


def test_the_application_points_at_this_repositorys_chart() -> None:
    source = _application()["spec"]["source"]
    assert (ROOT / source["path"]).resolve() == CHART
    assert source["helm"]["releaseName"] == "stackrun"
    assert _application()["spec"]["destination"]["namespace"] == "stackrun"


def _application_values() -> dict[str, Any]:
    """The values Argo CD gives Helm: the chart's valueFiles, then valuesObject over them."""
    helm_source = _application()["spec"]["source"]["helm"]
    files = [values_file(CHART / Path(name)) for name in helm_source.get("valueFiles", [])]
    return merge_values(*files, helm_source.get("valuesObject", {}))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_what_the_application_deploys_renders_and_validates(version: str) -> None:
    application = _application()
    manifests = render(
        _application_values(),
        release=application["spec"]["source"]["helm"]["releaseName"],
        namespace=application["spec"]["destination"]["namespace"],
    )
    images = {
        container["image"]
        for m in manifests
        if m.kind in ("Deployment", "Job")
        for container in m.document["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"ghcr.io/example/stackrun:0.1.0"}
    errors = {str(m): schema_errors(m.document, version) for m in manifests}
    assert {name: found for name, found in errors.items() if found} == {}
