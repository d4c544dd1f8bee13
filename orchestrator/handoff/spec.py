"""The stack's `gitops_bridge` output, checked; the `handoff "argocd" {}` block itself is checked
in orchestrator/stackconfig/handoff.py (re-exported here for the hand-off's own modules). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.stackconfig.handoff import DNS_SUBDOMAIN as _DNS_SUBDOMAIN
from orchestrator.stackconfig.handoff import HandoffSpec as HandoffSpec
from orchestrator.stackconfig.handoff import RootSpec as RootSpec

_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_RESERVED_PREFIXES = ("argocd.argoproj.io/",)


@dataclass(frozen=True)
class GitopsBridge:
    """The GitOps Bridge convention: selector values in labels, ARNs and URLs in annotations."""

    cluster_name: str
    server: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def label_key_error(key: str) -> str | None:
    """Why `key` is not a valid Kubernetes label or annotation key, or None."""
    prefix, _, name = key.rpartition("/")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return (
            f"key {key!r}: the name part must be 1-63 characters of [A-Za-z0-9-_.], "
            "starting and ending alphanumeric"
        )
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"key {key!r}: the prefix must be a DNS subdomain"
    return None


def label_value_error(key: str, value: str) -> str | None:
    """Why `value` cannot be the value of label `key`, or None."""
    if value == "":
        return None
    if len(value) > 63 or not _LABEL_NAME.match(value):
        return (
            f"label {key!r} has the invalid value {value!r}: a label value is at most 63 "
            "characters of [A-Za-z0-9-_.], starting and ending alphanumeric; put ARNs, URLs "
            "and other values in annotations"
        )
    return None


def bridge_from_outputs(outputs: dict[str, Any]) -> tuple[GitopsBridge | None, list[str]]:
    """The stack's `gitops_bridge` output (from `terraform output -json`) → bridge, errors."""
    if "gitops_bridge" not in outputs:
        return None, [
            'the stack has no gitops_bridge output; declare output "gitops_bridge" = '
            "{cluster_name, server, labels, annotations}"
        ]
    raw = outputs["gitops_bridge"]
    value = raw.get("value") if isinstance(raw, dict) and "value" in raw else raw
    if not isinstance(value, dict):
        return None, [
            "output gitops_bridge must be an object {cluster_name, server, labels, annotations}"
        ]
    errors: list[str] = []
    cluster_name = value.get("cluster_name")
    server = value.get("server")
    if not isinstance(cluster_name, str) or not cluster_name:
        errors.append("gitops_bridge.cluster_name must be a non-empty string")
    elif len(cluster_name) > 63 or not _DNS_SUBDOMAIN.match(cluster_name) or "." in cluster_name:
        errors.append(
            f"gitops_bridge.cluster_name {cluster_name!r} must be a DNS label "
            "(lowercase letters, digits and '-', at most 63 characters): "
            "it names Kubernetes objects"
        )
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        errors.append(f"gitops_bridge.server must be the cluster's API URL, got {server!r}")
    labels = _string_map(value.get("labels"), "labels", errors)
    annotations = _string_map(value.get("annotations"), "annotations", errors)
    for key, text in sorted(labels.items()):
        problem = label_key_error(key) or label_value_error(key, text)
        if problem:
            errors.append(f"gitops_bridge.labels: {problem}")
        elif key.startswith(_RESERVED_PREFIXES):
            errors.append(f"gitops_bridge.labels: key {key!r} is reserved for Argo CD")
    for key in sorted(annotations):
        problem = label_key_error(key)
        if problem:
            errors.append(f"gitops_bridge.annotations: {problem}")
    if errors:
        return None, errors
    assert isinstance(cluster_name, str) and isinstance(server, str)
    return GitopsBridge(cluster_name, server, labels, annotations), []


def _string_map(raw: Any, name: str, errors: list[str]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.append(f"gitops_bridge.{name} must be a map of strings")
        return {}
    wrong = sorted(str(k) for k, v in raw.items() if not isinstance(v, str))
    if wrong:
        errors.append(f"gitops_bridge.{name}: values must be strings ({', '.join(wrong)})")
    return {str(k): v for k, v in raw.items() if isinstance(v, str)}
