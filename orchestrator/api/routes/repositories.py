"""GET|POST /api/v1/repositories."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import ConfigDict, Field, SecretStr

from orchestrator import repos
from orchestrator.api.deps import Id, PrincipalDep, RequestBody, SessionDep, authorized
from orchestrator.api.errors import responses
from orchestrator.auth import Principal, audit
from orchestrator.graphstore import snapshot
from orchestrator.models import Repository
from orchestrator.runs import discover
from orchestrator.secrets.masking import redact_url

router = APIRouter(prefix="/api/v1/repositories", tags=["repositories"], responses=responses(401))


class TrustIn(RequestBody):
    """What proposed runs are trusted with (docs/SECURITY.md); omitted fields stay."""

    proposed_secrets: bool | None = None
    plan_fork_prs: bool | None = None
    trusted_authors: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=500
    )
    proposed_logs_public: bool | None = None


class RepositoryIn(TrustIn):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._/-]+$")
    clone_url: str = Field(min_length=1)
    branch: str = Field(default="main", min_length=1, max_length=255)
    provider: str = Field(default="github", max_length=20)
    webhook_secret: SecretStr
    vcs_api_url: str | None = Field(default=None, max_length=1000)
    vcs_project: str | None = Field(default=None, max_length=300)
    vcs_token: SecretStr | None = None


class ReportingIn(TrustIn):
    """Where proposed runs are reported, and what they are trusted with; omitted fields stay,
    "" clears one. Nothing else changes here: a clone URL is set once, when the repository is
    registered (422)."""

    model_config = ConfigDict(extra="forbid")

    vcs_api_url: str | None = Field(default=None, max_length=1000)
    vcs_project: str | None = Field(default=None, max_length=300)
    vcs_token: SecretStr | None = None


def repository_view(repository: Repository) -> dict[str, Any]:
    return {
        "id": repository.id,
        "name": repository.name,
        "clone_url": redact_url(repository.clone_url),
        "branch": repository.branch,
        "provider": repository.provider,
        "reporting": {
            "enabled": repository.vcs_token_enc is not None,
            "api_url": repository.vcs_api_url
            or repos.default_api_url(repository.provider, repository.clone_url),
            "project": repository.vcs_project or repository.name,
        },
        "trust": {
            "proposed_secrets": repository.proposed_secrets,
            "plan_fork_prs": repository.plan_fork_prs,
            "trusted_authors": list(repository.trusted_authors or []),
            "proposed_logs_public": repository.proposed_logs_public,
        },
        "created_at": repository.created_at.isoformat(),
    }


def _configure(repository: Repository, body: ReportingIn | RepositoryIn) -> None:
    refused = repos.configure_reporting(
        repository,
        api_url=body.vcs_api_url,
        project=body.vcs_project,
        token=body.vcs_token.get_secret_value() if body.vcs_token is not None else None,
    )
    if refused is not None:
        raise HTTPException(refused.status, refused.reason)
    repos.configure_trust(
        repository,
        repos.TrustChange(
            body.proposed_secrets,
            body.plan_fork_prs,
            body.trusted_authors,
            body.proposed_logs_public,
        ),
    )


def _repository(session: SessionDep, repository_id: int) -> Repository:
    repository = repos.repository(session, repository_id)
    if repository is None:
        raise HTTPException(404, f"repository {repository_id} does not exist")
    return repository


@router.get("")
def list_repositories(session: SessionDep, who: PrincipalDep) -> list[dict[str, Any]]:
    return [repository_view(r) for r in repos.listed(session)]


@router.get("/{repository_id}/graph", responses=responses(404, 409))
def repository_graph(repository_id: Id, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    """The stack graph computed by the last processed push of the tracked branch (stored by
    that push: answering never fetches nor parses)."""
    found = snapshot.view(session, _repository(session, repository_id))
    if isinstance(found, snapshot.NoGraphYet):
        raise HTTPException(409, found.reason)
    return found


@router.post("", status_code=201, responses=responses(403, 409, 422))
def create_repository(
    body: RepositoryIn,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "registering a repository")],
) -> dict[str, Any]:
    result = repos.register(
        session,
        name=body.name,
        clone_url=body.clone_url,
        branch=body.branch,
        provider=body.provider,
        secret=body.webhook_secret.get_secret_value(),
    )
    if isinstance(result, repos.RepositoryRefused):
        raise HTTPException(result.status, result.reason)
    _configure(result, body)
    audit(
        session,
        who.name,
        "repository.create",
        f"repository:{result.name}",
        {"clone_url": redact_url(result.clone_url), "branch": result.branch},
    )
    session.commit()
    return repository_view(result)


@router.patch("/{repository_id}", responses=responses(403, 404, 422))
def configure_repository(
    repository_id: Id,
    body: ReportingIn,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "configuring a repository")],
) -> dict[str, Any]:
    """Set the VCS API, project and token that proposed runs are reported with."""
    repository = _repository(session, repository_id)
    _configure(repository, body)
    detail = {
        "vcs_api_url": body.vcs_api_url,
        "vcs_project": body.vcs_project,
        "vcs_token": "changed" if body.vcs_token is not None else "unchanged",
        **body.model_dump(include=set(TrustIn.model_fields), exclude_none=True),
    }
    audit(session, who.name, "repository.configure", f"repository:{repository.name}", detail)
    session.commit()
    return repository_view(repository)


@router.post("/{repository_id}/sync", responses=responses(403, 404, 409, 502))
def sync_repository(
    repository_id: Id,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "syncing a repository's stacks")],
) -> dict[str, Any]:
    """Discover the stacks at the tracked branch's head (fetching it) without running
    anything: stacks appear (and vanished ones are marked deleted) as a push would make them."""
    repository = _repository(session, repository_id)
    found = discover.sync(session, repository)
    if isinstance(found, discover.SyncRefused):
        raise HTTPException(found.status, found.reason)
    detail = {"commit": found.commit, "added": list(found.added), "removed": list(found.removed)}
    audit(session, who.name, "repository.sync", f"repository:{repository.name}", detail)
    session.commit()
    return {"repository": repository.name, "stacks": list(found.stacks), **detail}


@router.post("/{repository_id}/webhook-secret", responses=responses(403, 404))
def rotate_webhook_secret(
    repository_id: Id,
    session: SessionDep,
    who: Annotated[Principal, authorized("admin", "rotating a webhook secret")],
) -> dict[str, Any]:
    """A new webhook secret, shown in this answer only: deliveries signed with the old one
    are refused (401) from now on."""
    repository = _repository(session, repository_id)
    secret = repos.rotate_webhook_secret(repository)
    audit(session, who.name, "repository.rotate_webhook_secret", f"repository:{repository.name}")
    session.commit()
    return {"repository": repository.name, "webhook_secret": secret}
