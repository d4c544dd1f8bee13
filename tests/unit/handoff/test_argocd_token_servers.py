"""The Argo CD token goes only to servers the operator allows (STACKRUN_ARGOCD_SERVERS): a
repository's hand-off block names the server, so the list is what keeps a merged branch from
sending the token elsewhere."""

from __future__ import annotations

import pytest

from orchestrator.handoff.argocd_api import ArgoCDError
from orchestrator.handoff.credentials import token_for


def test_the_token_goes_to_a_listed_server_or_any_when_none_is_listed() -> None:
    assert token_for("https://argocd.example/", "t", "") == "t"
    assert token_for("https://argocd.example", "t", " https://argocd.example/ , x") == "t"


def test_an_unlisted_server_or_no_token_is_refused_naming_the_setting() -> None:
    with pytest.raises(ArgoCDError, match="not one of STACKRUN_ARGOCD_SERVERS"):
        token_for("https://attacker.example", "t", "https://argocd.example")
    with pytest.raises(ArgoCDError, match="set STACKRUN_ARGOCD_TOKEN"):
        token_for("https://argocd.example", None, "")
