"""Which Kubernetes kinds manage AWS resources, and where their identities are. Pure.

A rule names an API group (exact, or `*.suffix`) and a kind (or `*`), the fields that hold an
ARN and the fields that hold the AWS name, and what that name is (`service`, `type`) so it can
meet a Terraform resource's typed name. The first rule that matches an object wins: exact
rules before wildcards, a setting's rules (`STACKRUN_BOUNDARY_KINDS`) before the built-in ones.

Field paths are dotted; a key with dots or slashes goes in brackets:
`metadata.annotations[crossplane.io/external-name]`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.boundary.identities import (
    Identity,
    arn_identities,
    k8s_identity,
    typed_name,
)

ACK_ARN = ("status.ackResourceMetadata.arn",)
EXTERNAL_NAME = "metadata.annotations[crossplane.io/external-name]"
CROSSPLANE_ARN = ("status.atProvider.arn",)
_PATH = re.compile(r"\[([^\]]+)\]|([^.\[\]]+)")
_MAX_NAME = 1000


@dataclass(frozen=True)
class KindRule:
    group: str
    kind: str
    arn_fields: tuple[str, ...]
    name_fields: tuple[str, ...] = ()
    service: str = ""
    resource_type: str = ""

    def matches(self, group: str, kind: str) -> bool:
        if self.kind not in ("*", kind):
            return False
        if self.group.startswith("*."):
            return group.endswith(self.group[1:])
        return group == self.group

    @property
    def exact(self) -> bool:
        return not self.group.startswith("*") and self.kind != "*"


def _ack(service: str, kind: str, name: str, resource_type: str) -> KindRule:
    return KindRule(f"{service}.services.k8s.aws", kind, ACK_ARN, (name,), service, resource_type)


def _upbound(service: str, kind: str, resource_type: str) -> tuple[KindRule, ...]:
    """The cluster-scoped group and its namespaced twin (Crossplane v2: `*.aws.m.upbound.io`)."""
    return tuple(
        KindRule(group, kind, CROSSPLANE_ARN, (EXTERNAL_NAME,), service, resource_type)
        for group in (f"{service}.aws.upbound.io", f"{service}.aws.m.upbound.io")
    )


def _classic(group: str, kind: str, service: str, resource_type: str, *arns: str) -> KindRule:
    arn_fields = (*CROSSPLANE_ARN, *arns)
    return KindRule(group, kind, arn_fields, (EXTERNAL_NAME,), service, resource_type)


BUILTIN: tuple[KindRule, ...] = (
    # ACK (aws-controllers-k8s): every resource reports status.ackResourceMetadata.arn
    _ack("rds", "DBInstance", "spec.dbInstanceIdentifier", "db"),
    _ack("rds", "DBCluster", "spec.dbClusterIdentifier", "cluster"),
    _ack("s3", "Bucket", "spec.name", "bucket"),
    _ack("iam", "Role", "spec.name", "role"),
    _ack("iam", "Policy", "spec.name", "policy"),
    _ack("sqs", "Queue", "spec.queueName", "queue"),
    _ack("sns", "Topic", "spec.name", "topic"),
    _ack("dynamodb", "Table", "spec.tableName", "table"),
    _ack("ecr", "Repository", "spec.name", "repository"),
    KindRule("*.services.k8s.aws", "*", ACK_ARN),
    # Crossplane's Upbound AWS provider (crossplane-contrib/provider-upjet-aws), cluster-scoped
    # and namespaced: the external name is the AWS name
    *_upbound("rds", "Instance", "db"),
    *_upbound("rds", "Cluster", "cluster"),
    *_upbound("s3", "Bucket", "bucket"),
    *_upbound("iam", "Role", "role"),
    *_upbound("iam", "Policy", "policy"),
    *_upbound("sqs", "Queue", "queue"),
    *_upbound("dynamodb", "Table", "table"),
    KindRule("*.aws.upbound.io", "*", CROSSPLANE_ARN),
    KindRule("*.aws.m.upbound.io", "*", CROSSPLANE_ARN),
    # Crossplane's classic provider-aws
    _classic(
        "database.aws.crossplane.io", "RDSInstance", "rds", "db", "status.atProvider.dbInstanceArn"
    ),
    _classic("rds.aws.crossplane.io", "DBInstance", "rds", "db", "status.atProvider.dbInstanceARN"),
    _classic("s3.aws.crossplane.io", "Bucket", "s3", "bucket"),
    _classic("iam.aws.crossplane.io", "Role", "iam", "role"),
    KindRule("*.aws.crossplane.io", "*", CROSSPLANE_ARN),
)


def parse_rules(text: str | None) -> tuple[list[KindRule], list[str]]:
    """Rules from the setting's JSON (a list of {group, kind, arn_fields, name_fields,
    service, type}); the problems of the entries it had to leave out."""
    if not text or not text.strip():
        return [], []
    try:
        entries = json.loads(text)
    except ValueError as exc:
        return [], [f"STACKRUN_BOUNDARY_KINDS is not JSON: {exc}"]
    if not isinstance(entries, list):
        return [], ["STACKRUN_BOUNDARY_KINDS must be a JSON list of kind rules"]
    rules, problems = [], []
    for number, entry in enumerate(entries, 1):
        rule = _rule(entry)
        if isinstance(rule, str):
            problems.append(f"STACKRUN_BOUNDARY_KINDS entry {number}: {rule}")
        else:
            rules.append(rule)
    return rules, problems


def _rule(entry: Any) -> KindRule | str:
    if not isinstance(entry, dict):
        return "must be an object"
    group, kind = entry.get("group"), entry.get("kind", "*")
    if not isinstance(group, str) or not group or not isinstance(kind, str) or not kind:
        return "needs a group (an API group or *.suffix) and a kind (or *)"
    arns, names = entry.get("arn_fields", []), entry.get("name_fields", [])
    if not _strings(arns) or not _strings(names) or not (arns or names):
        return "arn_fields and name_fields must be lists of field paths, at least one given"
    service, rtype = str(entry.get("service", "")), str(entry.get("type", ""))
    if names and not (service and rtype):
        return "name_fields need the AWS service and type the name is of (rds/db, s3/bucket…)"
    return KindRule(group, kind, tuple(arns), tuple(names), service, rtype)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def ordered(extra: Sequence[KindRule]) -> tuple[KindRule, ...]:
    """The setting's rules, then the built-in ones; exact rules before wildcards in each."""
    every = [*extra, *BUILTIN]
    return tuple(sorted(every, key=lambda rule: not rule.exact))


def rule_for(rules: Sequence[KindRule], group: str, kind: str) -> KindRule | None:
    return next((rule for rule in rules if rule.matches(group, kind)), None)


def manages_aws(rules: Sequence[KindRule], group: str, kind: str) -> bool:
    return rule_for(rules, group, kind) is not None


def identities_of_object(
    rules: Sequence[KindRule], manifest: Mapping[str, Any]
) -> tuple[Identity, ...]:
    """A Kubernetes object's identities: always `Kind/namespace/name`, and, for a kind that
    manages AWS resources, the ARNs and typed names its fields hold."""
    group, kind = group_of(manifest.get("apiVersion")), str(manifest.get("kind") or "")
    metadata = manifest.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name, namespace = metadata.get("name"), metadata.get("namespace") or ""
    found: set[Identity] = set()
    if isinstance(name, str) and name and kind and isinstance(namespace, str):
        found.add(k8s_identity(kind, namespace, name))
    rule = rule_for(rules, group, kind)
    if rule is not None:
        found.update(_aws(rule, manifest))
    return tuple(sorted(found))


def _aws(rule: KindRule, manifest: Mapping[str, Any]) -> Iterator[Identity]:
    for path in rule.arn_fields:
        yield from arn_identities(at_path(manifest, path))
    for path in rule.name_fields:
        value = at_path(manifest, path)
        if isinstance(value, str) and value and len(value) <= _MAX_NAME:
            yield typed_name(rule.service, rule.resource_type, value)


def at_path(document: Any, path: str) -> Any:
    """The value at a dotted path (`a.b[c.d/e]`), or None."""
    node = document
    for bracketed, plain in _PATH.findall(path):
        if not isinstance(node, dict):
            return None
        node = node.get(bracketed or plain)
    return node


def group_of(api_version: Any) -> str:
    """`rds.services.k8s.aws/v1alpha1` → `rds.services.k8s.aws`; `v1` → ``."""
    text = api_version if isinstance(api_version, str) else ""
    return text.rpartition("/")[0]
