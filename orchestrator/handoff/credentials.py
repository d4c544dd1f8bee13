"""Which Argo CD server may be given the Argo CD token (DESIGN §8)."""

from __future__ import annotations

from orchestrator.handoff.argocd_api import ArgoCDError


def token_for(server: str, token: str | None, allowed_servers: str) -> str:
    """The Argo CD token, for a server the operator allows (`STACKRUN_ARGOCD_SERVERS`, comma
    separated; empty: any). A repository's hand-off block names the server, so without the
    list a branch merged to a tracked branch could send the token anywhere. Raises
    ArgoCDError saying what to set."""
    if token is None:
        raise ArgoCDError(
            f"handoff server {server} is set but no Argo CD token is configured "
            "(set STACKRUN_ARGOCD_TOKEN)"
        )
    allowed = {entry.strip().rstrip("/") for entry in allowed_servers.split(",") if entry.strip()}
    if allowed and server.rstrip("/") not in allowed:
        raise ArgoCDError(
            f"handoff server {server} is not one of STACKRUN_ARGOCD_SERVERS; the Argo CD token "
            "is sent only to those (add it there if it is yours)"
        )
    return token
