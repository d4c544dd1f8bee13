"""A push delivered the way GitHub delivers it: a `push` payload, signed with the repository's
webhook secret (X-Hub-Signature-256), with a delivery id. Used by the post-receive hook that
`stackrun hooks install` writes into a bare repository, and by the demo."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import httpx

from orchestrator.vcs.mirror import ZERO_SHA
from orchestrator.webhooks.github import sign


@dataclass(frozen=True)
class Delivered:
    delivery_id: str
    status_code: int
    body: dict[str, object]


@dataclass(frozen=True)
class PushedRef:
    """One line of a post-receive hook's input: `<old sha> <new sha> <ref>`."""

    before: str
    after: str
    ref: str


def github_push_body(name: str, clone_url: str, pushed: PushedRef, pusher: str) -> bytes:
    payload = {
        "ref": pushed.ref,
        "before": pushed.before,
        "after": pushed.after,
        "created": pushed.before == ZERO_SHA,
        "deleted": pushed.after == ZERO_SHA,
        "forced": False,
        "repository": {"full_name": name, "name": name.split("/")[-1], "clone_url": clone_url},
        "pusher": {"name": pusher, "email": f"{pusher}@stackrun.invalid"},
        "sender": {"login": pusher},
        "head_commit": None if pushed.after == ZERO_SHA else {"id": pushed.after},
    }
    return json.dumps(payload).encode()


def deliver_push(
    api_url: str, name: str, secret: str, clone_url: str, pushed: PushedRef, pusher: str
) -> Delivered:
    """POST the signed push to `api_url`/webhooks/github; httpx.HTTPError when unreachable."""
    body = github_push_body(name, clone_url, pushed, pusher)
    delivery = str(uuid.uuid4())
    response = httpx.post(
        f"{api_url.rstrip('/')}/webhooks/github",
        content=body,
        timeout=10,
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(secret, body),
            "Content-Type": "application/json",
        },
    )
    try:
        answer = response.json()
    except ValueError:
        answer = {"detail": response.text}
    return Delivered(delivery, response.status_code, answer if isinstance(answer, dict) else {})
