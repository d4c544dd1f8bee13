"""What a resource is known by, on either side of the boundary. Pure: JSON in, identities out.

An identity is a `scheme` and a `value`; its `key` (`scheme:value`) is what the index stores and
what a Terraform resource and an Argo CD object are matched on:
- `arn`: an ARN exactly as AWS writes it (`arn:aws:rds:eu-west-1:111122223333:db:payments`);
- `name`: a typed AWS name `service:type:name` (`rds:db:payments`, `s3:bucket:assets`, in
  lowercase), from a resource's name attribute or read off its ARN, so a Crossplane
  external-name (a bare name) meets a Terraform ARN;
- `id`: a Terraform resource's `id`, kept only for "who owns" queries, never matched;
- `k8s`: a Kubernetes object `Kind/namespace/name` (cluster-scoped: empty namespace);
- `helm`: a Helm release `namespace/name`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

ARN = "arn"
NAME = "name"
ID = "id"
K8S = "k8s"
HELM = "helm"
MATCHED = frozenset({ARN, NAME, K8S, HELM})
_MAX_VALUE = 1000
_ARN_PARTS = re.compile(r"arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):([0-9]{12}|aws|):(.+)")
# ARNs whose resource part carries no `type/` or `type:` prefix: the name is the whole of it.
_UNTYPED = {"s3": "bucket", "sqs": "queue", "sns": "topic"}
# Terraform AWS types whose name attribute is the resource's AWS name: (service, type, attributes)
TYPED_NAMES: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
    "aws_db_instance": ("rds", "db", ("identifier",)),
    "aws_rds_cluster": ("rds", "cluster", ("cluster_identifier",)),
    "aws_s3_bucket": ("s3", "bucket", ("bucket",)),
    "aws_iam_role": ("iam", "role", ("name",)),
    "aws_iam_policy": ("iam", "policy", ("name",)),
    "aws_sqs_queue": ("sqs", "queue", ("name",)),
    "aws_sns_topic": ("sns", "topic", ("name",)),
    "aws_dynamodb_table": ("dynamodb", "table", ("name",)),
    "aws_ecr_repository": ("ecr", "repository", ("name",)),
}
# kubernetes_<stem>[_v1|_v2] → kind, where the stem's CamelCase is not the kind
_KINDS = {"daemonset": "DaemonSet", "horizontal_pod_autoscaler": "HorizontalPodAutoscaler"}


@dataclass(frozen=True, order=True)
class Identity:
    scheme: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.scheme}:{self.value}"


@dataclass(frozen=True)
class Arn:
    """An ARN's parts: `arn:partition:service:region:account:resource`."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        cut = re.search(r"[:/]", self.resource)
        if cut is None:
            return _UNTYPED.get(self.service, "")
        return self.resource[: cut.start()]

    @property
    def resource_name(self) -> str:
        """The last segment (a role's path and an S3 object key are dropped)."""
        if re.search(r"[:/]", self.resource) is None:
            return self.resource
        rest = re.split(r"[:/]", self.resource, maxsplit=1)[1]
        return rest.split("/")[0] if self.service == "s3" else re.split(r"[:/]", rest)[-1]

    def as_dict(self) -> dict[str, str]:
        return {
            "partition": self.partition,
            "service": self.service,
            "region": self.region,
            "account": self.account,
            "resource": self.resource,
        }


def parse_arn(text: Any) -> Arn | None:
    """The parts of a well-formed ARN; None for anything else (a malformed ARN never matches)."""
    if not isinstance(text, str) or len(text) > _MAX_VALUE:
        return None
    found = _ARN_PARTS.fullmatch(text.strip())
    if found is None or any(c.isspace() for c in found.group(5)):
        return None
    return Arn(*found.groups())


def arn_identities(text: Any) -> list[Identity]:
    """An ARN and the typed name read off it; nothing for a malformed one."""
    arn = parse_arn(text)
    if arn is None:
        return []
    found = [Identity(ARN, text.strip())]
    if arn.resource_type and arn.resource_name:
        found.append(typed_name(arn.service, arn.resource_type, arn.resource_name))
    return found


def typed_name(service: str, resource_type: str, name: str) -> Identity:
    """Lowercase: AWS keeps RDS identifiers lowercase, S3 names are, and IAM names are unique
    regardless of case, so `Payments` in a manifest is the stack's `payments`."""
    return Identity(NAME, f"{service}:{resource_type}:{name.lower()}")


def k8s_identity(kind: str, namespace: str, name: str) -> Identity:
    return Identity(K8S, f"{kind}/{namespace}/{name}")


@dataclass(frozen=True)
class TerraformResource:
    address: str
    type: str
    identities: tuple[Identity, ...]


def resources_of_state(document: Mapping[str, Any]) -> list[TerraformResource]:
    """Managed resources of a state file (format 4) or of `terraform show -json` values
    (`{"root_module": …}`, as in a plan's `prior_state.values`), each with its identities."""
    rows = _state_rows(document) if "resources" in document else _values_rows(document)
    found: list[TerraformResource] = []
    for address, rtype, attributes in rows:
        identities = tuple(sorted(set(identities_of(rtype, attributes))))
        if identities:
            found.append(TerraformResource(address, rtype, identities))
    return found


def _state_rows(document: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for resource in _dicts(document.get("resources")):
        if resource.get("mode", "managed") != "managed":
            continue
        rtype, name = str(resource.get("type", "")), str(resource.get("name", ""))
        module = str(resource.get("module") or "")
        base = f"{module}.{rtype}.{name}" if module else f"{rtype}.{name}"
        for instance in _dicts(resource.get("instances")):
            key = instance.get("index_key")
            index = "" if key is None else f'["{key}"]' if isinstance(key, str) else f"[{key}]"
            attributes = instance.get("attributes")
            if isinstance(attributes, dict):
                yield base + index, rtype, attributes


def _values_rows(document: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    modules = [document.get("root_module")]
    while modules:
        module = modules.pop()
        if not isinstance(module, dict):
            continue
        modules.extend(_dicts(module.get("child_modules")))
        for resource in _dicts(module.get("resources")):
            values = resource.get("values")
            if resource.get("mode", "managed") == "managed" and isinstance(values, dict):
                yield str(resource.get("address", "")), str(resource.get("type", "")), values


def identities_of(rtype: str, attributes: Mapping[str, Any]) -> Iterator[Identity]:
    """A Terraform resource's identities from its type and attributes."""
    yield from arn_identities(attributes.get("arn"))
    typed = TYPED_NAMES.get(rtype)
    if typed is not None:
        service, resource_type, names = typed
        for attribute in names:
            value = attributes.get(attribute)
            if isinstance(value, str) and value and len(value) <= _MAX_VALUE:
                yield typed_name(service, resource_type, value)
    if rtype == "helm_release":
        release, namespace = attributes.get("name"), attributes.get("namespace") or "default"
        if isinstance(release, str) and release and isinstance(namespace, str):
            yield Identity(HELM, f"{namespace}/{release}")
    elif rtype.startswith("kubernetes_"):
        yield from _kubernetes(rtype, attributes)


def _kubernetes(rtype: str, attributes: Mapping[str, Any]) -> Iterator[Identity]:
    if rtype == "kubernetes_manifest":
        manifest = attributes.get("manifest")
        manifest = manifest if isinstance(manifest, dict) else {}
        kind, metadata = manifest.get("kind"), manifest.get("metadata")
    else:
        kind = kubernetes_kind(rtype)
        metadata = attributes.get("metadata")
        metadata = metadata[0] if isinstance(metadata, list) and metadata else metadata
    if not isinstance(kind, str) or not isinstance(metadata, dict):
        return
    name, namespace = metadata.get("name"), metadata.get("namespace") or ""
    if isinstance(name, str) and name and isinstance(namespace, str):
        yield k8s_identity(kind, namespace, name)


def kubernetes_kind(rtype: str) -> str:
    """`kubernetes_deployment_v1` → `Deployment`, `kubernetes_config_map` → `ConfigMap`."""
    stem = re.sub(r"_v[0-9]+$", "", rtype.removeprefix("kubernetes_"))
    return _KINDS.get(stem) or "".join(part.capitalize() for part in stem.split("_"))


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
