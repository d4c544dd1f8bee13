"""Findings: an Argo CD application and a stack's state claiming the same thing. Pure.

A finding is one (platform, application, Kubernetes object, stack, Terraform address): however
many of their identities match (an ARN and the name read off it), it is one finding, keyed by a
hash of those names, so a check seen again finds the same key. Direction `aws`: the application's
object manages an AWS resource the stack owns (an ARN or typed name matched); direction
`kubernetes`: the stack's state holds a Kubernetes object (or Helm release) the application
also manages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from orchestrator.boundary.identities import ARN, HELM, K8S, MATCHED, NAME, Identity

AWS = "aws"
KUBERNETES = "kubernetes"
OPEN = "open"
CLOSED = "closed"
_STRENGTH = {ARN: 0, NAME: 1, K8S: 2, HELM: 3}


@dataclass(frozen=True, order=True)
class ObjectRef:
    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True)
class Claim:
    """An object an Argo CD application manages, with its identities."""

    app: str
    obj: ObjectRef
    identities: tuple[Identity, ...]


@dataclass(frozen=True)
class Owned:
    """A stack's Terraform resource holding an identity."""

    stack_id: str
    address: str
    type: str


@dataclass(frozen=True)
class Finding:
    key: str
    direction: str
    app: str
    obj: ObjectRef
    stack_id: str
    address: str
    identity: str

    def describe(self) -> str:
        return (
            f"Argo CD application {self.app!r} manages {self.obj} ({self.identity}), "
            f"which stack {self.stack_id!r} owns as {self.address}"
        )


def finding_key(platform: str, app: str, obj: ObjectRef, stack_id: str, address: str) -> str:
    """Stable across checks and processes: the same names, the same key."""
    names = (platform, app, obj.group, obj.kind, obj.namespace, obj.name, stack_id, address)
    parts = "\x1f".join(names)
    return hashlib.sha256(parts.encode()).hexdigest()[:40]


def compute(
    platform: str, claims: Iterable[Claim], owned: Mapping[str, Sequence[Owned]]
) -> list[Finding]:
    """Every (claim, owned resource) pair sharing a matchable identity, one finding each (the
    strongest identity named: an ARN before a name) of the platform's Argo CD; sorted by key."""
    found: dict[str, Finding] = {}
    for claim in claims:
        for identity in sorted(claim.identities, key=lambda i: (_STRENGTH.get(i.scheme, 9), i)):
            if identity.scheme not in MATCHED:
                continue
            for resource in owned.get(identity.key, ()):
                key = finding_key(
                    platform, claim.app, claim.obj, resource.stack_id, resource.address
                )
                if key in found:
                    continue
                direction = AWS if identity.scheme in (ARN, NAME) else KUBERNETES
                found[key] = Finding(
                    key,
                    direction,
                    claim.app,
                    claim.obj,
                    resource.stack_id,
                    resource.address,
                    identity.key,
                )
    return [found[key] for key in sorted(found)]


@dataclass(frozen=True)
class Stored:
    """What a check needs of a stored finding."""

    key: str
    status: str
    app: str


@dataclass(frozen=True)
class Changes:
    new: list[Finding] = field(default_factory=list)
    reopened: list[Finding] = field(default_factory=list)
    seen_again: list[str] = field(default_factory=list)
    closed: dict[str, str] = field(default_factory=dict)


def reconcile(
    stored: Iterable[Stored],
    seen: Sequence[Finding],
    complete_apps: set[str],
    listed_apps: set[str],
) -> Changes:
    """What a check changes: new findings, closed ones seen again, open ones still there, and
    open ones to close because their application was read completely (or no longer exists)
    without them. An application that could not be read keeps its findings as they were."""
    by_key = {row.key: row for row in stored}
    changes = Changes()
    for finding in seen:
        row = by_key.get(finding.key)
        if row is None:
            changes.new.append(finding)
        elif row.status == CLOSED:
            changes.reopened.append(finding)
        else:
            changes.seen_again.append(finding.key)
    seen_keys = {finding.key for finding in seen}
    for row in by_key.values():
        if row.status != OPEN or row.key in seen_keys:
            continue
        if row.app not in listed_apps:
            changes.closed[row.key] = f"application {row.app!r} no longer exists"
        elif row.app in complete_apps:
            changes.closed[row.key] = (
                f"application {row.app!r} no longer manages it (or the stack no longer owns it)"
            )
    return changes
