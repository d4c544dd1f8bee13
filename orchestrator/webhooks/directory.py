"""The registered repositories a batch of deliveries is judged against: one read per batch,
each webhook secret decrypted once per ciphertext, clone URLs compared normalised."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from orchestrator.models import Repository
from orchestrator.repos import webhook_secret
from orchestrator.webhooks.events import RepoRef

_REPOSITORIES = select(Repository).where(Repository.provider == bindparam("provider"))


class Directory:
    """The registered repositories of one provider as one read saw them, and their webhook
    secrets, decrypted once per read (a batch of deliveries shares one)."""

    def __init__(self, repositories: list[Repository]) -> None:
        self.repositories = repositories
        self._secrets: dict[int, str] = {}
        self._clone_urls: list[set[str]] | None = None

    @classmethod
    def read(cls, session: Session, provider: str) -> Directory:
        return cls(list(session.scalars(_REPOSITORIES, {"provider": provider})))

    def secret(self, repository: Repository) -> str:
        if repository.id not in self._secrets:
            self._secrets[repository.id] = _secret(repository)
        return self._secrets[repository.id]

    def match(self, ref: RepoRef) -> Repository | None:
        """The first repository registered under the delivery's name or one of its URLs."""
        if self._clone_urls is None:  # once per read, not once per delivery
            self._clone_urls = [_normalized((r.clone_url,)) for r in self.repositories]
        wanted = _normalized(ref.urls)
        for repository, clone_urls in zip(self.repositories, self._clone_urls, strict=True):
            if repository.name == ref.full_name or clone_urls & wanted:
                return repository
        return None


_DECRYPTED: dict[tuple[bytes, str], str] = {}
"""Webhook secrets by ciphertext and repository name (what decrypting them reads): a rotated
secret is another ciphertext, so it is decrypted afresh."""


def _secret(repository: Repository) -> str:
    key = (repository.webhook_secret_enc, repository.name)
    if key not in _DECRYPTED:
        if len(_DECRYPTED) >= 1024:
            _DECRYPTED.clear()
        _DECRYPTED[key] = webhook_secret(repository)
    return _DECRYPTED[key]


def normalize_url(url: str) -> str:
    """Compare clone URLs without scheme, credentials, case of host, or a .git suffix."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = f":{parts.port}" if parts.port else ""
        path = parts.path
    elif ":" in url and not url.startswith("/"):
        host_part, path = url.split(":", 1)
        host = host_part.split("@")[-1].lower()
        port, path = "", "/" + path
    else:
        host, port, path = "", "", url
    path = path.rstrip("/").removesuffix(".git")
    return f"{host}{port}{path}"


def _normalized(urls: tuple[str, ...]) -> set[str]:
    """Normalised URLs; one that does not even parse as a URL matches nothing."""
    return {normal for url in urls if (normal := _normal(url)) is not None}


@lru_cache(maxsize=1024)
def _normal(url: str) -> str | None:
    """normalize_url, remembered: deliveries name the same few repositories again and again."""
    try:
        return normalize_url(url)
    except ValueError:
        return None


def match_repository(session: Session, ref: RepoRef, provider: str) -> Repository | None:
    return Directory.read(session, provider).match(ref)
