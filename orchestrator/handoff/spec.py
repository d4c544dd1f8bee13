"""The `handoff "argocd" {}` block and the stack's `gitops_bridge` output, checked. Pure."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

MODES = ("applicationset", "app_of_apps")
DEFAULT_WAIT_SECONDS = 300.0
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_RESERVED_PREFIXES = ("argocd.argoproj.io/",)


@dataclass(frozen=True)
class RootSpec:
    """What the root ApplicationSet or Application deploys from."""

    repo_url: str
    path: str
    revision: str = "HEAD"
    project: str = "default"
    namespace: str = "argocd"
    automated: bool = True


@dataclass(frozen=True)
class HandoffSpec:
    repository: str
    root: RootSpec
    branch: str = "main"
    path: str = "clusters"
    mode: str = "applicationset"
    server: str | None = None
    wait_healthy_seconds: float = DEFAULT_WAIT_SECONDS

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HandoffSpec:
        fields = dict(data)
        fields["root"] = RootSpec(**fields["root"])
        return cls(**fields)


@dataclass(frozen=True)
class GitopsBridge:
    """The GitOps Bridge convention: selector values in labels, ARNs and URLs in annotations."""

    cluster_name: str
    server: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def parse_handoff(block: Any) -> tuple[HandoffSpec | None, list[str]]:
    """`handoff "argocd" { … }` entries of a `stack {}` block → spec, errors.
    Any error drops the whole block: nothing half-configured is stored."""
    entries = [e for e in (block if isinstance(block, list) else [block]) if e]
    if not entries:
        return None, []
    labelled = [e for e in entries if isinstance(e, dict)]
    kinds = sorted({str(k) for e in labelled for k in e})
    if kinds != ["argocd"] or len(labelled) != len(entries):
        found = ", ".join(kinds) or "none"
        return None, [f'handoff blocks must be labelled "argocd" (found {found})']
    if len(labelled) > 1:
        return None, ['a stack declares at most one handoff "argocd" block']
    body = labelled[0]["argocd"]
    if not isinstance(body, dict):
        return None, ['handoff "argocd" must be a block']
    errors: list[str] = []
    root = _parse_root(body.get("root"), errors)
    repository = _text(body, "repository", errors, required=True)
    branch = _text(body, "branch", errors) or "main"
    mode = _text(body, "mode", errors) or "applicationset"
    if mode not in MODES:
        errors.append(f"handoff mode {mode!r} must be one of {', '.join(MODES)}")
    path = (_text(body, "path", errors) or "clusters").strip("/")
    if ".." in path.split("/"):
        errors.append(f"handoff path {path!r} must stay inside the GitOps repository")
    server = _text(body, "server", errors)
    if server and not server.startswith(("https://", "http://")):
        errors.append(f"handoff server {server!r} must be an http(s) URL")
    wait = _duration(body.get("wait_healthy"), errors)
    unknown = sorted(
        set(body) - {"repository", "branch", "path", "mode", "root", "server", "wait_healthy"}
    )
    if unknown:
        errors.append(f'unknown attribute(s) in handoff "argocd": {", ".join(unknown)}')
    if errors or root is None or repository is None:
        return None, errors
    spec = HandoffSpec(
        repository=repository,
        root=root,
        branch=branch,
        path=path or ".",
        mode=mode,
        server=server.rstrip("/") if server else None,
        wait_healthy_seconds=wait,
    )
    return spec, []


def _parse_root(raw: Any, errors: list[str]) -> RootSpec | None:
    entries = [e for e in (raw if isinstance(raw, list) else [raw]) if e]
    if len(entries) != 1 or not isinstance(entries[0], dict):
        errors.append('handoff "argocd" needs one root { repo_url = …, path = … } block')
        return None
    body = entries[0]
    unknown = sorted(
        set(body) - {"repo_url", "path", "revision", "project", "namespace", "automated"}
    )
    if unknown:
        errors.append(f"unknown attribute(s) in root: {', '.join(unknown)}")
    repo_url = _text(body, "repo_url", errors, required=True, where="root")
    path = _text(body, "path", errors, required=True, where="root")
    namespace = _text(body, "namespace", errors, where="root") or "argocd"
    if not _DNS_SUBDOMAIN.match(namespace) or len(namespace) > 63 or "." in namespace:
        errors.append(f"root namespace {namespace!r} is not a valid Kubernetes namespace")
    automated = body.get("automated", True)
    if not isinstance(automated, bool):
        errors.append("root automated must be true or false")
        automated = True
    if repo_url is None or path is None:
        return None
    return RootSpec(
        repo_url=repo_url,
        path=path,
        revision=_text(body, "revision", errors, where="root") or "HEAD",
        project=_text(body, "project", errors, where="root") or "default",
        namespace=namespace,
        automated=automated,
    )


def _text(
    body: dict[str, Any], key: str, errors: list[str], *, required: bool = False, where: str = ""
) -> str | None:
    value = body.get(key)
    label = f"{where} {key}" if where else f"handoff {key}"
    if value is None or value == "":
        if required:
            errors.append(f"{label} is required")
        return None
    if not isinstance(value, str):
        errors.append(f"{label} must be a string, got {value!r}")
        return None
    return value


def _duration(raw: Any, errors: list[str]) -> float:
    """`"10m"`, `"90s"`, `"1h30m"` or a number of seconds."""
    if raw is None:
        return DEFAULT_WAIT_SECONDS
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw >= 0:
        return float(raw)
    match = _DURATION.match(raw) if isinstance(raw, str) and raw else None
    if match is None:
        errors.append(f'handoff wait_healthy {raw!r} must be a duration like "10m" or "90s"')
        return DEFAULT_WAIT_SECONDS
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


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
