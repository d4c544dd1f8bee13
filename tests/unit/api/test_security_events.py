"""Each refused request leaves one WARNING line: what was refused, why, from which address,
and never the secret, token or signature that was presented."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest

from orchestrator import db as database
from orchestrator import repos
from orchestrator.webhooks.github import sign
from tests.unit.api.conftest import Api

SECRET = "the-webhook-secret-42"


@pytest.fixture
def events(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="orchestrator.securitylog")
    return caplog


def _only_event(caplog: pytest.LogCaptureFixture) -> dict[str, object]:
    """The one security record the request left; its line is one line."""
    records = [r for r in caplog.records if r.name == "orchestrator.securitylog"]
    assert len(records) == 1, [r.getMessage() for r in records]
    (record,) = records
    assert record.levelno == logging.WARNING
    assert "\n" not in record.getMessage()
    fields: dict[str, object] = record.security  # type: ignore[attr-defined]
    assert fields["source_ip"] == "testclient"
    assert 'source_ip="testclient"' in record.getMessage()
    return fields


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_a_missing_token_is_logged_with_the_request(
    api: Api, events: pytest.LogCaptureFixture
) -> None:
    assert api.client.get("/api/v1/stacks").status_code == 401
    fields = _only_event(events)
    assert (fields["event"], fields["request"]) == ("missing_token", "GET /api/v1/stacks")


def test_an_unknown_token_is_logged_without_the_token(
    api: Api, events: pytest.LogCaptureFixture
) -> None:
    wrong = "srt_not-a-token-anyone-was-given"
    response = api.client.get("/api/v1/stacks", headers={"Authorization": f"Bearer {wrong}"})
    assert response.status_code == 401
    assert _only_event(events)["event"] == "unknown_token"
    assert wrong not in events.text


def test_a_forbidden_action_is_logged_with_the_token_name_and_rule(
    api: Api, events: pytest.LogCaptureFixture
) -> None:
    response = api.client.post(
        "/api/v1/tokens", headers=api.auth("viewer"), json={"name": "x", "role": "admin"}
    )
    assert response.status_code == 403
    fields = _only_event(events)
    assert (fields["event"], fields["token"], fields["role"]) == ("forbidden", "viewer", "viewer")
    assert fields["reason"] == response.json()["detail"]
    assert api.tokens["viewer"] not in events.text


def test_a_refusal_of_a_service_on_role_grounds_is_logged_too(
    api: Api, events: pytest.LogCaptureFixture
) -> None:
    response = api.client.post("/api/v1/runs/7/approve", headers=api.auth("viewer"))
    assert response.status_code == 403
    fields = _only_event(events)
    assert (fields["event"], fields["request"]) == ("forbidden", "POST /api/v1/runs/7/approve")


def _register() -> None:
    with database.session_scope() as session:
        registered = repos.register(
            session,
            name="acme/p",
            clone_url="https://git.example.com/acme/p.git",
            branch="main",
            provider="github",
            secret=SECRET,
        )
        assert not isinstance(registered, repos.RepositoryRefused), registered


def _delivery(name: str = "acme/p") -> bytes:
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "a" * 40,
            "after": "b" * 40,
            "repository": {"full_name": name, "clone_url": f"https://git.example.com/{name}.git"},
        }
    ).encode()


def _github(api: Api, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return api.client.post("/webhooks/github", content=body, headers=headers)


def test_a_bad_webhook_signature_is_logged_with_the_repository_it_named(
    api: Api, events: pytest.LogCaptureFixture
) -> None:
    _register()
    body = _delivery()
    forged = sign("not-the-secret", body)
    assert _github(api, body, forged).status_code == 401
    fields = _only_event(events)
    assert (fields["event"], fields["provider"]) == ("bad_webhook_signature", "github")
    assert (fields["repository"], fields["delivery"]) == ("acme/p", "d-1")
    assert SECRET not in events.text and forged not in events.text


def test_an_unsigned_webhook_is_logged(api: Api, events: pytest.LogCaptureFixture) -> None:
    assert _github(api, _delivery(), None).status_code == 401
    assert _only_event(events)["event"] == "unsigned_webhook"


def test_a_name_in_a_delivery_cannot_forge_a_log_line(
    api: Api, events: pytest.LogCaptureFixture
) -> None:
    body = _delivery('x"\nsecurity event=ok source_ip="10.0.0.1')
    assert _github(api, body, sign("whatever", body)).status_code == 401
    assert _only_event(events)["event"] == "bad_webhook_signature"


def test_a_bad_run_credential_is_logged_without_its_password(
    api: Api, events: pytest.LogCaptureFixture
) -> None:
    password = "run-credential-password-9"
    response = api.client.get("/api/v1/runs/3/environment", headers=_basic("run-3", password))
    assert response.status_code == 401
    fields = _only_event(events)
    assert (fields["event"], fields["run"], fields["user"]) == ("bad_run_credential", 3, "run-3")
    assert password not in events.text


def test_a_bad_state_credential_is_logged_without_its_password(
    api: Api, events: pytest.LogCaptureFixture
) -> None:
    password = "state-password-7"
    response = api.client.post(
        "/api/v1/stacks/acme/p/vpc/state", headers=_basic("run-5", password), content=b"{}"
    )
    assert response.status_code == 401
    fields = _only_event(events)
    assert (fields["event"], fields["stack"], fields["user"]) == (
        "bad_run_credential",
        "acme/p/vpc",
        "run-5",
    )
    assert password not in events.text


def test_an_accepted_request_logs_no_security_event(
    api: Api, events: pytest.LogCaptureFixture
) -> None:
    assert api.client.get("/api/v1/stacks", headers=api.auth("viewer")).status_code == 200
    assert [r for r in events.records if r.name == "orchestrator.securitylog"] == []
