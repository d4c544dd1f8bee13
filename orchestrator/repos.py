"""Registered repositories: create, list, and read their webhook secret."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.models import Repository
from orchestrator.secrets.crypto import decrypt, encrypt
from orchestrator.settings import get_settings
from orchestrator.vcs.mirror import Mirror

PROVIDERS = ("github", "gitlab")


@dataclass(frozen=True)
class RepositoryRefused:
    """A registration refused on business grounds."""

    status: int
    reason: str


def _secret_context(name: str) -> str:
    return f"repository:{name}:webhook_secret"


def webhook_secret(repository: Repository) -> str:
    return decrypt(repository.webhook_secret_enc, _secret_context(repository.name))


def register(
    session: Session, *, name: str, clone_url: str, branch: str, provider: str, secret: str
) -> Repository | RepositoryRefused:
    if provider not in PROVIDERS:
        return RepositoryRefused(422, f"provider must be one of {', '.join(PROVIDERS)}")
    if len(secret) < 8:
        return RepositoryRefused(422, "webhook_secret must have at least 8 characters")
    if session.scalar(select(Repository).where(Repository.name == name)) is not None:
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


def mirror_for(repository: Repository) -> Mirror:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in repository.name)
    path: Path = get_settings().mirrors_dir / f"{repository.id}-{safe}.git"
    return Mirror(path, repository.clone_url)
