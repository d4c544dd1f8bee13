"""Argo CD's side: what each application of a handed-off cluster manages, read through the
hand-off's Argo CD client (`handoff/argocd_api.py`, the one door to argocd-server).

For each application under the cluster's root (the root application, the Applications it
manages, and any application whose destination is the cluster): its managed resources, with
their live manifests (`managed-resources`), then its resource tree for the objects below them;
a tree object of a kind that manages AWS resources (kinds.py) and not managed directly has its
live manifest read (`resource`), up to a limit."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from orchestrator.boundary.findings import Claim, ObjectRef
from orchestrator.boundary.identities import HELM, Identity
from orchestrator.boundary.kinds import KindRule, identities_of_object, manages_aws
from orchestrator.handoff.argocd_api import ArgoCDClient, ArgoCDError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cluster:
    """A handed-off cluster as Argo CD knows it."""

    name: str
    server: str
    root_app: str


@dataclass(frozen=True)
class Limits:
    apps: int = 500
    tree_nodes: int = 5000
    fetches: int = 200


@dataclass
class Observed:
    claims: list[Claim] = field(default_factory=list)
    listed: set[str] = field(default_factory=set)
    complete: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    objects: int = 0


def in_scope(app: dict[str, Any], cluster: Cluster) -> bool:
    spec = _dict(app.get("spec"))
    destination = _dict(spec.get("destination"))
    name = _meta(app).get("name")
    return (
        name == cluster.root_app
        or (bool(cluster.server) and destination.get("server") == cluster.server)
        or (bool(cluster.name) and destination.get("name") == cluster.name)
    )


def read(
    client: ArgoCDClient, cluster: Cluster, rules: tuple[KindRule, ...], limits: Limits
) -> Observed:
    """Every in-scope application's claims. Listing the applications failing raises
    ArgoCDError (nothing is known); one application failing leaves it out of `complete`."""
    every = client.list_applications()
    children = _root_children(client, every, cluster)
    apps = [app for app in every if in_scope(app, cluster) or _meta(app).get("name") in children]
    observed = Observed(listed={str(_meta(app).get("name")) for app in apps})
    if cluster.root_app not in observed.listed:
        observed.problems.append(
            f"the root application {cluster.root_app} is not among the applications the token "
            "may list (check its RBAC): applications not listed keep their findings"
        )
    if len(apps) > limits.apps:
        observed.problems.append(
            f"{len(apps)} applications target cluster {cluster.name}; read the first "
            f"{limits.apps} (STACKRUN_BOUNDARY_MAX_APPS)"
        )
    for app in apps[: limits.apps]:
        name = str(_meta(app).get("name"))
        project = str(_dict(app.get("spec")).get("project") or "default")
        try:
            complete = _read_app(client, app, name, project, rules, limits, observed)
        except ArgoCDError as exc:
            observed.problems.append(f"application {name}: {exc}")
            continue
        if complete:
            observed.complete.add(name)
    return observed


def _root_children(client: ArgoCDClient, every: list[dict[str, Any]], cluster: Cluster) -> set[str]:
    """The Applications the root application manages (app of apps), which may deploy to the
    cluster Argo CD runs in rather than to the handed-off one."""
    root = next((app for app in every if _meta(app).get("name") == cluster.root_app), None)
    if root is None:
        return set()
    project = str(_dict(root.get("spec")).get("project") or "default")
    return {
        str(item.get("name"))
        for item in client.managed_resources(cluster.root_app, project)
        if item.get("kind") == "Application" and item.get("group") == "argoproj.io"
    }


def _read_app(
    client: ArgoCDClient,
    app: dict[str, Any],
    name: str,
    project: str,
    rules: tuple[KindRule, ...],
    limits: Limits,
    observed: Observed,
) -> bool:
    seen: set[ObjectRef] = set()
    for item in client.managed_resources(name, project):
        claim = _managed_claim(name, item, rules)
        if claim is not None and claim.obj not in seen:
            seen.add(claim.obj)
            observed.claims.append(claim)
    observed.claims.extend(_helm_claims(app, name))
    nodes = client.resource_tree(name, project).get("nodes") or []
    complete = True
    if len(nodes) > limits.tree_nodes:
        observed.problems.append(
            f"application {name}: its resource tree has {len(nodes)} objects, more than "
            f"{limits.tree_nodes} (STACKRUN_BOUNDARY_MAX_TREE_NODES); read the first ones"
        )
        complete = False
    fetches = 0
    for node in nodes[: limits.tree_nodes]:
        ref = _ref(node)
        if ref is None or _object(ref) in seen or not manages_aws(rules, ref["group"], ref["kind"]):
            continue
        if fetches >= limits.fetches:
            observed.problems.append(
                f"application {name}: more than {limits.fetches} AWS objects below its managed "
                "resources (STACKRUN_BOUNDARY_MAX_FETCHES); the rest were not read"
            )
            complete = False
            break
        fetches += 1
        manifest = _json(client.live_manifest(name, project, ref)) or _skeleton(ref)
        seen.add(_object(ref))
        observed.claims.append(Claim(name, _object(ref), identities_of_object(rules, manifest)))
    observed.objects += len(seen)
    return complete


def _managed_claim(app: str, item: dict[str, Any], rules: tuple[KindRule, ...]) -> Claim | None:
    ref = _ref(item)
    if ref is None:
        return None
    manifest = _json(item.get("liveState")) or _json(item.get("targetState")) or _skeleton(ref)
    metadata = manifest.setdefault("metadata", {})
    if isinstance(metadata, dict) and ref["namespace"]:
        metadata.setdefault("namespace", ref["namespace"])
    return Claim(app, _object(ref), identities_of_object(rules, manifest))


def _helm_claims(app: dict[str, Any], name: str) -> list[Claim]:
    """An application rendering a Helm chart claims the release it names in its namespace."""
    spec = _dict(app.get("spec"))
    sources = [spec.get("source"), *(spec.get("sources") or [])]
    namespace = str(_dict(spec.get("destination")).get("namespace") or "default")
    claims = []
    for source in sources:
        if isinstance(source, dict) and source.get("chart"):
            helm = _dict(source.get("helm"))
            release = str(helm.get("releaseName") or name)
            obj = ObjectRef(
                "argoproj.io", "Application", str(_meta(app).get("namespace", "")), name
            )
            claims.append(Claim(name, obj, (Identity(HELM, f"{namespace}/{release}"),)))
    return claims


def _ref(node: Any) -> dict[str, str] | None:
    if not isinstance(node, dict) or not node.get("kind") or not node.get("name"):
        return None
    keys = ("group", "version", "kind", "namespace", "name")
    return {key: str(node.get(key) or "") for key in keys}


def _object(ref: dict[str, str]) -> ObjectRef:
    return ObjectRef(ref["group"], ref["kind"], ref["namespace"], ref["name"])


def _skeleton(ref: dict[str, str]) -> dict[str, Any]:
    version = f"{ref['group']}/{ref['version']}" if ref["group"] else ref["version"]
    metadata = {"name": ref["name"], "namespace": ref["namespace"]}
    return {"apiVersion": version, "kind": ref["kind"], "metadata": metadata}


def _json(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return _dict(obj.get("metadata"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
