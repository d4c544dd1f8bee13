"""The Helm chart rendered by Helm's own engine and checked against Kubernetes' schemas.

`render` runs Helm's Go SDK in-process (PyPI `helm-python-sdk`: a bundled `libhelm_c`, no
binary, no network), exactly as `helm template` would: the chart's values.schema.json is
enforced, hooks are included. `schema_errors` checks one rendered object with
`kubernetes-validate` in strict mode (an unknown field is an error). Kinds defined by a CRD
that kubernetes-validate does not ship (Prometheus Operator, KEDA) are named in `CRD_SCHEMAS`:
their metadata is checked by kubernetes-validate and the whole object by a reduced, hand-written
JSON schema derived from the project's CRD (tests/data/chart/crd-schemas/, whose README names
the sources), unknown fields refused too. Any other kind without a schema is an error, never a
silent pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "stackrun"
PRODUCTION_VALUES = CHART / "values-production.yaml"
ARGOCD_APPLICATION = ROOT / "deploy" / "argocd" / "application.yaml"
RELEASE = "stackrun"
NAMESPACE = "stackrun"

# The oldest and the newest Kubernetes minor a cluster may run the chart on (kubernetes-validate
# ships strict schemas for each; EKS's standard support covers the first as of this writing).
KUBERNETES_VERSIONS = ("1.33", "1.37")

CRD_SCHEMA_DIR = ROOT / "tests" / "data" / "chart" / "crd-schemas"
# (apiVersion, kind) of each CRD kind the chart renders -> its schema in CRD_SCHEMA_DIR.
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.monitoring.coreos.com_v1.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.keda.sh_v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication.keda.sh_v1alpha1.json",
}


@dataclass(frozen=True)
class Manifest:
    """One object the chart renders, and the template that made it."""

    template: str
    document: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.document["kind"])

    @property
    def name(self) -> str:
        return str(self.document["metadata"]["name"])

    @property
    def api_version(self) -> str:
        return str(self.document["apiVersion"])

    def __str__(self) -> str:
        return f"{self.kind}/{self.name} ({self.template})"


def values_file(path: Path) -> dict[str, Any]:
    """A values file parsed by Helm's own YAML reader (what `helm -f FILE` does)."""
    return helm.values_from_yaml(path.read_text(encoding="utf-8"))


def merge_values(*layers: dict[str, Any]) -> dict[str, Any]:
    """Values files merged as `helm -f A -f B` merges them: maps recursively, a later value
    (a list included) replacing an earlier one."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            earlier = merged.get(key)
            if isinstance(earlier, dict) and isinstance(value, dict):
                merged[key] = merge_values(earlier, value)
            else:
                merged[key] = value
    return merged


def render(
    values: dict[str, Any] | None = None, *, release: str = RELEASE, namespace: str = NAMESPACE
) -> list[Manifest]:
    """Every object `helm template RELEASE deploy/helm/stackrun -n NAMESPACE` makes with
    `values` over the chart's defaults. Raises helm.HelmValuesError for values the chart's
    schema refuses, helm.HelmRenderError for a template that fails."""
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
    manifests: list[Manifest] = []
    for template, text in sorted(rendered.items()):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt and the like
        for document in yaml.safe_load_all(text):
            if document is not None:
                manifests.append(Manifest(template, document))
    return manifests


def lint(values: dict[str, Any] | None = None) -> list[str]:
    """Helm's own lint (`helm lint --strict`, against the newest Kubernetes here): the warnings
    and errors it finds, as "path: message"; informational findings are left out."""
    report = helm.lint(
        CHART,
        values,
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{KUBERNETES_VERSIONS[-1]}.0",
    )
    findings = [
        f"{message['path']}: {message['error']}"
        for message in report["messages"]
        if int(message["severity"]) >= 2
    ]
    return findings + [str(error) for error in report["errors"]]


@cache
def crd_validator(api_version: str, kind: str) -> Draft202012Validator:
    """The validator of a kind in CRD_SCHEMAS, its schema checked against the draft first."""
    path = CRD_SCHEMA_DIR / CRD_SCHEMAS[(api_version, kind)]
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def crd_schema_errors(document: dict[str, Any]) -> list[str]:
    """Why the CRD schema of a kind in CRD_SCHEMAS refuses `document`, as "path: message"."""
    validator = crd_validator(str(document.get("apiVersion")), str(document.get("kind")))
    return sorted(
        f"{'.'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    )


def schema_errors(document: dict[str, Any], version: str) -> list[str]:
    """Why Kubernetes `version` would refuse `document` (strict: unknown fields too); empty when
    it validates. A kind in CRD_SCHEMAS has its metadata checked by kubernetes-validate and the
    rest by its CRD schema."""
    crd_errors: list[str] = []
    if (document.get("apiVersion"), document.get("kind")) in CRD_SCHEMAS:
        crd_errors = crd_schema_errors(document)
        # ObjectMeta is the same for every kind: check it in an object that has a schema.
        document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": document.get("metadata")}
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        return [f"{path}: {error.message}", *crd_errors]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [error.message, *crd_errors]
    return crd_errors
