"""Registered repositories: create, find, list, configure, and read their webhook secret."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import Repository, Run, Stack
from orchestrator.secrets.crypto import decrypt, encrypt
from orchestrator.settings import get_settings
from orchestrator.trust import RepositoryTrust, normal_authors, run_trust
from orchestrator.trust import logs_role as trust_logs_role
from orchestrator.vcs import urls
from orchestrator.vcs.mirror import Mirror

PROVIDERS = ("github", "gitlab")
MIRRORS_KEPT = 4
_THREAD_MIRRORS = threading.local()


@dataclass(frozen=True)
class RepositoryRefused:
    """A registration refused on business grounds."""

    status: int
    reason: str


def _secret_context(name: str) -> str:
    return f"repository:{name}:webhook_secret"


def webhook_secret(repository: Repository) -> str:
    return decrypt(repository.webhook_secret_enc, _secret_context(repository.name))


def rotate_webhook_secret(repository: Repository) -> str:
    """A new random webhook secret replaces the old one (which stops verifying at once);
    returned once, stored encrypted."""
    secret = secrets.token_urlsafe(32)
    repository.webhook_secret_enc = encrypt(secret, _secret_context(repository.name))
    return secret


def _token_context(name: str) -> str:
    return f"repository:{name}:vcs_token"


def vcs_token(repository: Repository) -> str | None:
    """The token stackrun reports to the VCS with, or None when reporting is off."""
    if repository.vcs_token_enc is None:
        return None
    return decrypt(repository.vcs_token_enc, _token_context(repository.name))


def trust_settings(repository: Repository) -> RepositoryTrust:
    """What the repository trusts proposed runs with (orchestrator/trust.py)."""
    return RepositoryTrust.of(
        repository.proposed_secrets,
        repository.plan_fork_prs,
        repository.trusted_authors,
        repository.proposed_logs_public,
    )


def run_is_trusted(session: Session, run: Run) -> bool:
    """Whether `run` may see secrets (orchestrator/trust.py), by its repository's trust settings."""
    stack = session.get(Stack, run.stack_id)
    repository = session.get(Repository, stack.repository_id) if stack is not None else None
    settings = trust_settings(repository) if repository is not None else RepositoryTrust()
    return run_trust(run.kind, run.triggered_by, settings).trusted


def logs_role(session: Session, run: Run) -> str:
    """The role that may read `run`'s log, by its repository's trust settings."""
    stack = session.get(Stack, run.stack_id)
    repository = session.get(Repository, stack.repository_id) if stack is not None else None
    settings = trust_settings(repository) if repository is not None else RepositoryTrust()
    return trust_logs_role(run.kind, settings)


def default_api_url(provider: str, clone_url: str) -> str:
    """GitHub's public API, or the GitLab instance that serves the clone URL."""
    if provider == "github":
        return "https://api.github.com"
    parts = urlsplit(clone_url) if "://" in clone_url else None
    if parts is not None and parts.scheme in ("http", "https") and parts.hostname:
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}/api/v4"
    host = clone_url.split("@")[-1].split(":")[0] if "@" in clone_url else "gitlab.com"
    return f"https://{host}/api/v4"


def configure_reporting(
    repository: Repository,
    *,
    api_url: str | None,
    project: str | None,
    token: str | None,
) -> RepositoryRefused | None:
    """Set where and with which token proposed runs are reported; "" clears a value."""
    if api_url:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return RepositoryRefused(422, f"vcs_api_url must be http(s)://host/…, not {api_url!r}")
    if api_url is not None:
        repository.vcs_api_url = api_url.rstrip("/") or None
    if project is not None:
        repository.vcs_project = project or None
    if token is not None:
        repository.vcs_token_enc = (
            encrypt(token, _token_context(repository.name)) if token else None
        )
    return None


def clone_url_refusal(clone_url: str) -> str | None:
    """Why this deployment must not register or fetch `clone_url` (vcs/urls.py), or None."""
    settings = get_settings()
    return urls.refusal(
        clone_url, allow_local=settings.allow_local_repositories, data_dir=settings.data_dir
    )


def register(
    session: Session, *, name: str, clone_url: str, branch: str, provider: str, secret: str
) -> Repository | RepositoryRefused:
    if provider not in PROVIDERS:
        return RepositoryRefused(422, f"provider must be one of {', '.join(PROVIDERS)}")
    if len(secret) < 8:
        return RepositoryRefused(422, "webhook_secret must have at least 8 characters")
    refused = clone_url_refusal(clone_url)
    if refused is not None:
        return RepositoryRefused(422, f"registering {name!r}: {refused}")
    if named(session, name) is not None:
        return RepositoryRefused(409, f"repository {name!r} is already registered")
    repository = Repository(
        name=name,
        clone_url=clone_url,
        branch=branch,
        provider=provider,
        webhook_secret_enc=encrypt(secret, _secret_context(name)),
    )
    session.add(repository)
    session.flush()
    return repository


def repository(session: Session, repository_id: int) -> Repository | None:
    return session.get(Repository, repository_id)


def named(session: Session, name: str) -> Repository | None:
    return session.scalar(select(Repository).where(Repository.name == name))


def listed(session: Session) -> list[Repository]:
    """Every registered repository, in the order they were registered."""
    return list(session.scalars(select(Repository).order_by(Repository.id)))


@dataclass(frozen=True)
class TrustChange:
    """What proposed runs are trusted with (docs/SECURITY.md); None leaves a setting as it is."""

    proposed_secrets: bool | None = None
    plan_fork_prs: bool | None = None
    trusted_authors: list[str] | None = None
    proposed_logs_public: bool | None = None


def configure_trust(repository: Repository, change: TrustChange) -> None:
    for name in ("proposed_secrets", "plan_fork_prs", "proposed_logs_public"):
        value = getattr(change, name)
        if value is not None:
            setattr(repository, name, value)
    if change.trusted_authors is not None:
        repository.trusted_authors = list(normal_authors(change.trusted_authors))


def mirror_for(repository: Repository) -> Mirror:
    """The repository's mirror; one whose stored clone URL the rule now refuses (registered
    before it, or local repositories since disallowed) refuses to clone or fetch.

    The same Mirror object again in the same thread (the last MIRRORS_KEPT of them): it keeps
    its git handle (a persistent `git cat-file`) and the commits it knows it holds, so the
    pushes a worker processes one after another do not start git afresh each time."""
    return mirror_of(repository.id, repository.name, repository.clone_url)


def mirror_of(repository_id: int, name: str, clone_url: str) -> Mirror:
    """`mirror_for` from the repository's id, name and clone URL (a worker holds no row)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path: Path = get_settings().mirrors_dir / f"{repository_id}-{safe}.git"
    refused = clone_url_refusal(clone_url)
    kept: OrderedDict[tuple[Path, str, str | None], Mirror] = _THREAD_MIRRORS.__dict__.setdefault(
        "kept", OrderedDict()
    )
    key = (path, clone_url, refused)
    mirror = kept.pop(key, None) or Mirror(path, clone_url, refused=refused)
    kept[key] = mirror
    while len(kept) > MIRRORS_KEPT:
        kept.popitem(last=False)[1].close()
    return mirror
