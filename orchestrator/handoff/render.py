"""The Argo CD hand-off objects (GitOps Bridge pattern) and their schema checks. Pure.

`render` builds the cluster Secret and the root ApplicationSet or Application; `validation_errors`
checks one document against Argo CD's v1alpha1 CRD schemas (packaged in `schemas/`) or a small
Kubernetes Secret schema. The only I/O is loading the packaged schemas, once.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft7Validator, ValidationError

from orchestrator.handoff.spec import GitopsBridge, HandoffSpec, RootSpec

HEADER = "# managed by stackrun: do not edit by hand\n"
ARGOCD_API_VERSION = "argoproj.io/v1alpha1"
ARGOCD_TYPE_LABEL = "argocd.argoproj.io/secret-type"
CLUSTER_LABEL = "stackrun.io/cluster"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
STACK_ANNOTATION = "stackrun.io/stack"
REPOSITORY_ANNOTATION = "stackrun.io/repository"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
_SCHEMA_FILES = {"Application": "application.json", "ApplicationSet": "applicationset.json"}
_PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$"
_QUALIFIED_NAME = rf"^({_DNS_LABEL}(\.{_DNS_LABEL})*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
_LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$"
_DATA_KEY = r"^[-._a-zA-Z0-9]+$"
_BASE64 = r"^[A-Za-z0-9+/]*={0,2}$"
_PATTERN_NAMES = {
    _DNS_SUBDOMAIN: "a DNS subdomain (lowercase letters, digits, '-' and '.')",
    f"^{_DNS_LABEL}$": "a DNS label (lowercase letters, digits and '-')",
    _QUALIFIED_NAME: "a Kubernetes key ([DNS-subdomain/]name, name of [A-Za-z0-9-_.])",
    _LABEL_VALUE: "a label value ([A-Za-z0-9-_.], starting and ending alphanumeric)",
    _DATA_KEY: "a Secret key ([-._a-zA-Z0-9])",
    _BASE64: "base64",
}
_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
_OBJECT_META: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "namespace": {"type": "string", "maxLength": 63, "pattern": f"^{_DNS_LABEL}$"},
        "labels": {
            "type": "object",
            "propertyNames": {"pattern": _QUALIFIED_NAME},
            "additionalProperties": {"type": "string", "maxLength": 63, "pattern": _LABEL_VALUE},
        },
        "annotations": {**_STRING_MAP, "propertyNames": {"pattern": _QUALIFIED_NAME}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}
SECRET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "v1"},
        "kind": {"const": "Secret"},
        "metadata": _OBJECT_META,
        "type": {"type": "string"},
        "immutable": {"type": "boolean"},
        "data": {
            "type": "object",
            "propertyNames": {"pattern": _DATA_KEY},
            "additionalProperties": {"type": "string", "pattern": _BASE64},
        },
        "stringData": {**_STRING_MAP, "propertyNames": {"pattern": _DATA_KEY}},
    },
}


@dataclass(frozen=True)
class RenderedFile:
    path: str
    document: dict[str, Any]

    def text(self) -> str:
        return HEADER + yaml.safe_dump(self.document, sort_keys=True, default_flow_style=False)


@dataclass(frozen=True)
class Rendered:
    files: list[RenderedFile]
    root: dict[str, Any]
    root_kind: str
    app_name: str


def render(spec: HandoffSpec, bridge: GitopsBridge, *, stack: str, repository: str) -> Rendered:
    """The files to commit under `<spec.path>/<cluster_name>/` of the GitOps repository."""
    folder = posixpath.normpath(posixpath.join(spec.path, bridge.cluster_name))
    secret = _cluster_secret(spec.root, bridge, stack=stack, repository=repository)
    if spec.mode == "applicationset":
        root, name = _root_applicationset(spec.root, bridge), "root-applicationset.yaml"
    elif spec.mode == "app_of_apps":
        root, name = _root_application(spec.root, bridge), "root-application.yaml"
    else:
        raise ValueError(f"unknown handoff mode {spec.mode!r}")
    files = [
        RenderedFile(f"{folder}/cluster-secret.yaml", secret),
        RenderedFile(f"{folder}/{name}", root),
    ]
    return Rendered(files=files, root=root, root_kind=root["kind"], app_name=app_name(bridge))


def app_name(bridge: GitopsBridge) -> str:
    """The Application Argo CD syncs and reports health for, in either mode."""
    return f"{bridge.cluster_name}-bootstrap"


def _cluster_secret(
    root: RootSpec, bridge: GitopsBridge, *, stack: str, repository: str
) -> dict[str, Any]:
    labels = {
        **bridge.labels,
        ARGOCD_TYPE_LABEL: "cluster",
        CLUSTER_LABEL: bridge.cluster_name,
        MANAGED_BY_LABEL: "stackrun",
    }
    annotations = {
        **bridge.annotations,
        STACK_ANNOTATION: stack,
        REPOSITORY_ANNOTATION: repository,
    }
    config = json.dumps({"tlsClientConfig": {"insecure": False}}, sort_keys=True)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": f"cluster-{bridge.cluster_name}",
            "namespace": root.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "stringData": {"name": bridge.cluster_name, "server": bridge.server, "config": config},
    }


def _root_applicationset(root: RootSpec, bridge: GitopsBridge) -> dict[str, Any]:
    selector = {ARGOCD_TYPE_LABEL: "cluster", CLUSTER_LABEL: bridge.cluster_name}
    return {
        "apiVersion": ARGOCD_API_VERSION,
        "kind": "ApplicationSet",
        "metadata": {"name": app_name(bridge), "namespace": root.namespace},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"clusters": {"selector": {"matchLabels": selector}}}],
            "template": {
                "metadata": {"name": "{{.name}}-bootstrap", "namespace": root.namespace},
                "spec": _application_spec(root, server="{{.server}}"),
            },
        },
    }


def _root_application(root: RootSpec, bridge: GitopsBridge) -> dict[str, Any]:
    return {
        "apiVersion": ARGOCD_API_VERSION,
        "kind": "Application",
        "metadata": {
            "name": app_name(bridge),
            "namespace": root.namespace,
            "finalizers": [FINALIZER],
        },
        "spec": _application_spec(root, server=bridge.server),
    }


def _application_spec(root: RootSpec, *, server: str) -> dict[str, Any]:
    policy: dict[str, Any] = {"syncOptions": ["CreateNamespace=true"]}
    if root.automated:
        policy["automated"] = {"prune": True, "selfHeal": True}
    return {
        "project": root.project,
        "source": {"repoURL": root.repo_url, "path": root.path, "targetRevision": root.revision},
        "destination": {"server": server, "namespace": root.namespace},
        "syncPolicy": policy,
    }


def validation_errors(document: dict[str, Any]) -> list[str]:
    """Schema errors of one rendered document, each "<Kind> <path>: <message>", sorted.

    Application and ApplicationSet: Argo CD's CRD schema, closed like kubectl's strict field
    validation (an unknown field is an error, not silently pruned), plus `apiVersion` and the
    ObjectMeta rules the API server applies. Secret: `SECRET_SCHEMA`."""
    kind = document.get("kind") if isinstance(document, dict) else None
    if kind not in (*_SCHEMA_FILES, "Secret"):
        return [f"document kind {kind!r} is not Application, ApplicationSet or Secret"]
    errors = {_describe(str(kind), e) for e in _validator(str(kind)).iter_errors(document)}
    return sorted(errors)


def _describe(kind: str, error: ValidationError) -> str:
    path = "".join(_path_part(part) for part in error.absolute_path).lstrip(".")
    message = error.message
    if error.validator == "pattern" and error.validator_value in _PATTERN_NAMES:
        message = f"{error.instance!r} is not {_PATTERN_NAMES[str(error.validator_value)]}"
    return f"{kind} {path}: {message}" if path else f"{kind}: {message}"


def _path_part(part: str | int) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    return f".{part}" if _IDENTIFIER.match(part) else f"[{part!r}]"


@cache
def _validator(kind: str) -> Draft7Validator:
    if kind == "Secret":
        return Draft7Validator(SECRET_SCHEMA)
    envelope = {
        "type": "object",
        "properties": {"apiVersion": {"const": ARGOCD_API_VERSION}, "metadata": _OBJECT_META},
    }
    return Draft7Validator({"allOf": [_closed(crd_schema(kind)), envelope]})


@cache
def crd_schema(kind: str) -> dict[str, Any]:
    """The packaged openAPIV3Schema of Argo CD's `kind` CRD (v1alpha1), as upstream ships it."""
    package = resources.files("orchestrator.handoff") / "schemas" / _SCHEMA_FILES[kind]
    schema: dict[str, Any] = json.loads(package.read_text(encoding="utf-8"))
    return schema


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with `additionalProperties: false` on every object that lists its properties and
    does not preserve unknown fields."""
    closed = dict(schema)
    if "properties" in schema:
        closed["properties"] = {name: _closed(sub) for name, sub in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get(_PRESERVE_UNKNOWN):
            closed["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            closed[key] = _closed(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            closed[key] = [_closed(sub) for sub in schema[key]]
    return closed
