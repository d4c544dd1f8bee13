"""A small demo platform: a git repository of null_resource stacks, registered and pushed."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import git
import httpx
from sqlalchemy import select

from orchestrator import repos
from orchestrator.auth import create_token
from orchestrator.db import session_scope
from orchestrator.models import Repository
from orchestrator.secrets.crypto import decrypt
from orchestrator.vcs.mirror import ZERO_SHA
from orchestrator.webhooks.github import sign

DEMO_REPOSITORY = "demo/platform"

STACKS: dict[str, dict[str, str]] = {
    "network": {
        "stackrun.hcl": 'stack {\n  name   = "network"\n  labels = ["demo"]\n}\n',
        "main.tf": (
            'resource "null_resource" "vpc" {\n  triggers = { cidr = "10.0.0.0/16" }\n}\n\n'
            'output "vpc_id" {\n  value = null_resource.vpc.id\n}\n'
        ),
    },
    "eks": {
        "stackrun.hcl": (
            'stack {\n  name       = "eks"\n  labels     = ["demo"]\n'
            '  depends_on = ["../network"]\n}\n'
        ),
        "main.tf": (
            'resource "null_resource" "cluster" {\n  triggers = { version = "1.31" }\n}\n\n'
            'resource "null_resource" "node_group" {\n'
            "  depends_on = [null_resource.cluster]\n}\n"
        ),
    },
    "dns": {
        "stackrun.hcl": 'stack {\n  name   = "dns"\n  labels = ["demo"]\n}\n',
        "main.tf": (
            'resource "null_resource" "zone" {\n  triggers = { name = "demo.internal" }\n}\n'
        ),
    },
}


@dataclass(frozen=True)
class DemoPush:
    repository: str
    delivery_id: str
    status_code: int
    body: dict[str, object]


def build_repository(root: Path) -> tuple[Path, str, str]:
    """Create (or update) the demo repository; returns (bare path, before sha, after sha)."""
    bare = root / "platform.git"
    work = root / "platform"
    if not bare.exists():
        git.Repo.init(bare, bare=True, initial_branch="main")
        repo = git.Repo.init(work, initial_branch="main")
        repo.create_remote("origin", str(bare))
        before = ZERO_SHA
        for stack, files in STACKS.items():
            for name, text in files.items():
                path = work / stack / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        message = "demo platform: network, eks (after network), dns"
    else:
        repo = git.Repo(work)
        before = repo.head.commit.hexsha
        readme = work / "network" / "NOTES.md"
        readme.write_text(readme.read_text() + "\nanother push\n" if readme.exists() else "notes\n")
        message = "demo: touch network notes"
    repo.git.add(A=True)
    with repo.config_writer() as config:
        config.set_value("user", "name", "stackrun demo")
        config.set_value("user", "email", "demo@stackrun.invalid")
    repo.index.commit(message)
    repo.git.push("origin", "main")
    return bare, before, repo.head.commit.hexsha


def ensure_registered(bare: Path) -> tuple[str, str]:
    """Register the demo repository (once) and return (name, webhook secret)."""
    with session_scope() as session:
        existing = session.scalar(select(Repository).where(Repository.name == DEMO_REPOSITORY))
        if existing is not None:
            return existing.name, repos.webhook_secret(existing)
        secret = secrets.token_urlsafe(24)
        result = repos.register(
            session,
            name=DEMO_REPOSITORY,
            clone_url=f"file://{bare}",
            branch="main",
            provider="github",
            secret=secret,
        )
        assert not isinstance(result, repos.RepositoryRefused), result
        return result.name, decrypt(
            result.webhook_secret_enc, f"repository:{result.name}:webhook_secret"
        )


def admin_token() -> str:
    with session_scope() as session:
        return create_token(session, f"demo-admin-{uuid.uuid4().hex[:6]}", "admin")


def github_push_body(name: str, clone_url: str, before: str, after: str, pusher: str) -> bytes:
    payload = {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "created": before == ZERO_SHA,
        "deleted": False,
        "forced": False,
        "repository": {"full_name": name, "name": name.split("/")[-1], "clone_url": clone_url},
        "pusher": {"name": pusher, "email": f"{pusher}@stackrun.invalid"},
        "sender": {"login": pusher},
        "head_commit": {"id": after},
    }
    return json.dumps(payload).encode()


def push_webhook(
    api_url: str, name: str, secret: str, clone_url: str, before: str, after: str
) -> DemoPush:
    body = github_push_body(name, clone_url, before, after, "demo-user")
    delivery = str(uuid.uuid4())
    response = httpx.post(
        f"{api_url}/webhooks/github",
        content=body,
        timeout=10,
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(secret, body),
            "Content-Type": "application/json",
        },
    )
    return DemoPush(name, delivery, response.status_code, response.json())


def run_demo(data_dir: Path, api_url: str) -> tuple[DemoPush, str]:
    bare, before, after = build_repository(data_dir / "demo")
    name, secret = ensure_registered(bare)
    token = admin_token()
    return push_webhook(api_url, name, secret, f"file://{bare}", before, after), token
