"""The `handoff "argocd" {}` block of a stack, checked into a HandoffSpec. Pure."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

MODES = ("applicationset", "app_of_apps")
DEFAULT_WAIT_SECONDS = 300.0
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


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
    if not DNS_SUBDOMAIN.match(namespace) or len(namespace) > 63 or "." in namespace:
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
