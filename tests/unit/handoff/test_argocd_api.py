"""The Argo CD REST client against a stand-in for argocd-server checked by Argo CD's swagger."""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.handoff.argocd_api import AppStatus, ArgoCDClient, ArgoCDError, is_automated
from tests.support.argocd_server import (
    CREATE_APPLICATION,
    CREATE_APPLICATIONSET,
    DROP,
    GET_APPLICATION,
    IN_PROGRESS,
    PERMISSION_DENIED,
    SWAGGER_PATH,
    SYNC_APPLICATION,
    UNAUTHENTICATED,
    UNAVAILABLE,
    ArgoCDStandIn,
    load_contract,
)

TOKEN = "argocd-api-token-6f1c9e2b7d"
SWAGGER_SHA256 = "5cfd43dfd31446d875ab35244b19f2aaccc8120c8ddfafd90e2c25b668acaee6"


class FakeTime:
    """A clock that only moves when the client sleeps, so waiting tests take no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], None] | None = None

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()

    def clock(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[ArgoCDStandIn]:
    with ArgoCDStandIn(TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_client(url: str, fake_time: FakeTime, token: str = TOKEN) -> ArgoCDClient:
    return ArgoCDClient(url, token, timeout=5.0, sleep=fake_time.sleep, clock=fake_time.clock)


@pytest.fixture
def client(server: ArgoCDStandIn, fake_time: FakeTime) -> Iterator[ArgoCDClient]:
    with make_client(server.url, fake_time) as argocd:
        yield argocd


def application(name: str = "platform-bootstrap", *, automated: bool = True) -> dict[str, Any]:
    sync_policy: dict[str, Any] = {"syncOptions": ["CreateNamespace=true"]}
    if automated:
        sync_policy["automated"] = {"prune": True, "selfHeal": True}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "labels": {"stackrun.io/stack": "prod"}},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://git.example.com/platform/gitops.git",
                "path": "clusters/prod",
                "targetRevision": "HEAD",
                "directory": {"recurse": True},
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "argocd"},
            "syncPolicy": sync_policy,
        },
    }


def applicationset(name: str = "cluster-addons") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"clusters": {"selector": {"matchLabels": {"enable_addons": "true"}}}}],
            "template": {
                "metadata": {"name": "addons-{{.name}}"},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": "https://git.example.com/platform/gitops.git",
                        "path": "addons",
                        "targetRevision": "HEAD",
                    },
                    "destination": {"server": "{{.server}}", "namespace": "argocd"},
                    "syncPolicy": {"automated": {}},
                },
            },
        },
    }


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_swagger_copy_is_argo_cd_v3_5_1_byte_for_byte() -> None:
    assert hashlib.sha256(SWAGGER_PATH.read_bytes()).hexdigest() == SWAGGER_SHA256
    assert Path(__file__).resolve().parents[2] in SWAGGER_PATH.parents


def test_upserting_an_application_sends_a_valid_v1alpha1_application_with_upsert_true(
    server: ArgoCDStandIn, client: ArgoCDClient
) -> None:
    answer = client.upsert_application(application())

    (call,) = server.calls(CREATE_APPLICATION)
    assert call.method == "POST" and call.path == "/api/v1/applications"
    assert call.query == {"upsert": ["true"], "validate": ["false"]}
    assert call.body == application()
    assert load_contract().errors("v1alpha1Application", call.body) == []
    assert call.headers["authorization"] == "<redacted>"
    assert answer["metadata"]["uid"] and answer["metadata"]["resourceVersion"] == "1"
    assert answer["status"]["sync"]["status"] == "Synced"
    assert server.violations == []


def test_upserting_an_existing_application_updates_it_in_place(
    server: ArgoCDStandIn, client: ArgoCDClient
) -> None:
    first = client.upsert_application(application())
    changed = application()
    changed["spec"]["source"]["path"] = "clusters/prod-eu"

    second = client.upsert_application(changed)

    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert second["metadata"]["resourceVersion"] == "2"
    assert second["spec"]["source"]["path"] == "clusters/prod-eu"
    assert server.violations == []


def test_upserting_an_applicationset_sends_a_valid_v1alpha1_applicationset_with_upsert_true(
    server: ArgoCDStandIn, client: ArgoCDClient
) -> None:
    answer = client.upsert_applicationset(applicationset())

    (call,) = server.calls(CREATE_APPLICATIONSET)
    assert call.path == "/api/v1/applicationsets"
    assert call.query == {"upsert": ["true"]}
    assert call.body == applicationset()
    assert load_contract().errors("v1alpha1ApplicationSet", call.body) == []
    assert answer["metadata"]["uid"]
    assert server.applicationset("cluster-addons") is not None
    assert server.violations == []


def test_a_manual_application_gets_a_valid_sync_request(
    server: ArgoCDStandIn, client: ArgoCDClient
) -> None:
    app = application(automated=False)
    client.upsert_application(app)
    assert client.app_status("platform-bootstrap", "default") == AppStatus("OutOfSync", "Missing")

    assert client.sync_unless_automated(app) is True

    (call,) = server.calls(SYNC_APPLICATION)
    assert call.path == "/api/v1/applications/platform-bootstrap/sync"
    assert call.body == {"name": "platform-bootstrap", "project": "default", "prune": False}
    assert load_contract().errors("applicationApplicationSyncRequest", call.body) == []
    assert client.app_status("platform-bootstrap", "default") == AppStatus("Synced", "Healthy")
    assert server.violations == []


def test_an_automated_application_gets_no_sync_request(
    server: ArgoCDStandIn, client: ArgoCDClient
) -> None:
    app = application(automated=True)
    client.upsert_application(app)

    assert client.sync_unless_automated(app) is False

    assert server.calls(SYNC_APPLICATION) == []
    assert client.app_status("platform-bootstrap", "default") == AppStatus("Synced", "Healthy")


def test_automated_sync_switched_off_with_enabled_false_counts_as_manual() -> None:
    app = application()
    app["spec"]["syncPolicy"]["automated"]["enabled"] = False
    assert not is_automated(app)
    assert is_automated(application())
    assert not is_automated(application(automated=False))


def test_get_application_asks_for_the_project(server: ArgoCDStandIn, client: ArgoCDClient) -> None:
    client.upsert_application(application())

    app = client.get_application("platform-bootstrap", "default")

    (call,) = server.calls(GET_APPLICATION)
    assert call.query == {"project": ["default"]}
    assert app["status"]["health"]["status"] == "Healthy"
    assert server.violations == []


def test_waiting_returns_once_synced_and_healthy_after_progressing(
    server: ArgoCDStandIn, client: ArgoCDClient, fake_time: FakeTime
) -> None:
    server.slow_health_gets = 2
    client.upsert_application(application())

    status = client.wait_healthy("platform-bootstrap", "default", timeout=60, poll=2.0)

    assert status == AppStatus("Synced", "Healthy")
    assert len(server.calls(GET_APPLICATION)) == 3
    assert fake_time.sleeps == [2.0, 2.0]
    assert server.violations == []


def test_waiting_polls_an_application_that_does_not_exist_yet(
    server: ArgoCDStandIn, client: ArgoCDClient, fake_time: FakeTime
) -> None:
    def create_once() -> None:
        if server.application("platform-bootstrap") is None:
            client.upsert_application(application())

    fake_time.on_sleep = create_once

    status = client.wait_healthy("platform-bootstrap", "default", timeout=30, poll=5.0)

    assert status == AppStatus("Synced", "Healthy")
    assert fake_time.sleeps == [5.0]
    assert server.violations == []


@pytest.mark.parametrize(
    ("automated", "slow_gets", "last"),
    [
        (False, 0, "last sync=OutOfSync health=Missing"),
        (True, 1000, "last sync=Synced health=Progressing"),
    ],
)
def test_waiting_past_the_deadline_fails_naming_the_last_sync_and_health_status(
    server: ArgoCDStandIn,
    client: ArgoCDClient,
    fake_time: FakeTime,
    automated: bool,
    slow_gets: int,
    last: str,
) -> None:
    server.slow_health_gets = slow_gets
    client.upsert_application(application(automated=automated))

    with pytest.raises(ArgoCDError) as caught:
        client.wait_healthy("platform-bootstrap", "default", timeout=10, poll=3.0)

    message = str(caught.value)
    assert message.startswith("argocd wait application platform-bootstrap: not Synced and Healthy")
    assert "after 10s" in message and last in message
    assert fake_time.sleeps == [3.0, 3.0, 3.0, 1.0]


def test_waiting_for_an_application_that_never_appears_says_it_was_not_found(
    client: ArgoCDClient,
) -> None:
    with pytest.raises(ArgoCDError, match="application not found"):
        client.wait_healthy("platform-bootstrap", "default", timeout=4, poll=2.0)


def test_a_missing_application_outside_waiting_is_a_404_and_not_retried(
    server: ArgoCDStandIn, client: ArgoCDClient, fake_time: FakeTime
) -> None:
    with pytest.raises(ArgoCDError) as caught:
        client.get_application("nowhere", "default")

    assert (caught.value.status, caught.value.code) == (404, 5)
    assert str(caught.value) == (
        'argocd get application nowhere: 404 applications.argoproj.io "nowhere" not found'
    )
    assert len(server.calls(GET_APPLICATION)) == 1 and fake_time.sleeps == []


def test_a_rejected_token_fails_naming_authentication_without_retry_or_leak(
    server: ArgoCDStandIn, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "argocd-api-token-revoked-90a1"
    with (
        make_client(server.url, fake_time, token=wrong) as argocd,
        pytest.raises(ArgoCDError) as caught,
    ):
        argocd.upsert_application(application())

    message = str(caught.value)
    assert (caught.value.status, caught.value.code) == (401, 16)
    assert "401 authentication failed (invalid session: token signature is invalid)" in message
    assert message.startswith("argocd upsert application platform-bootstrap:")
    assert len(server.calls(CREATE_APPLICATION)) == 1 and fake_time.sleeps == []
    assert wrong not in message and wrong not in repr(caught.value) and wrong not in caplog.text
    assert all(wrong not in repr(r.args) for r in caplog.records)
    assert "argocd request method=POST path=/api/v1/applications status=401" in caplog.text


def test_an_expired_session_fails_naming_authentication_and_the_token_appears_nowhere(
    server: ArgoCDStandIn,
    client: ArgoCDClient,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.fail(SYNC_APPLICATION, UNAUTHENTICATED)

    with pytest.raises(ArgoCDError, match="authentication failed") as caught:
        client.sync("platform-bootstrap", "default")

    assert caught.value.status == 401 and fake_time.sleeps == []
    for text in (str(caught.value), repr(caught.value), caplog.text, repr(client)):
        assert TOKEN not in text
    assert [TOKEN in r.getMessage() for r in caplog.records].count(True) == 0


def test_permission_denied_fails_without_retry(
    server: ArgoCDStandIn, client: ArgoCDClient, fake_time: FakeTime
) -> None:
    server.fail(CREATE_APPLICATION, PERMISSION_DENIED, times=3)

    with pytest.raises(ArgoCDError) as caught:
        client.upsert_application(application())

    assert (
        str(caught.value) == "argocd upsert application platform-bootstrap: 403 permission denied"
    )
    assert (caught.value.status, caught.value.code) == (403, 7)
    assert len(server.calls(CREATE_APPLICATION)) == 1 and fake_time.sleeps == []


def test_another_operation_in_progress_is_retried_with_backoff_then_succeeds(
    server: ArgoCDStandIn, client: ArgoCDClient, fake_time: FakeTime
) -> None:
    client.upsert_application(application(automated=False))
    server.fail(SYNC_APPLICATION, IN_PROGRESS, times=2)

    client.sync("platform-bootstrap", "default")

    assert len(server.calls(SYNC_APPLICATION)) == 3
    assert fake_time.sleeps == [0.5, 1.0]
    assert client.app_status("platform-bootstrap", "default").sync == "Synced"
    assert server.violations == []


def test_an_operation_that_stays_in_progress_gives_up_after_the_attempts(
    server: ArgoCDStandIn, client: ArgoCDClient, fake_time: FakeTime
) -> None:
    server.fail(SYNC_APPLICATION, IN_PROGRESS, times=10)

    with pytest.raises(ArgoCDError) as caught:
        client.sync("platform-bootstrap", "default")

    assert str(caught.value) == (
        "argocd sync application platform-bootstrap: 400 another operation is already in "
        "progress (gave up after 4 attempts)"
    )
    assert (caught.value.status, caught.value.code) == (400, 9)
    assert len(server.calls(SYNC_APPLICATION)) == 4
    assert fake_time.sleeps == [0.5, 1.0, 2.0]


def test_an_unavailable_server_is_retried_then_fails_naming_the_url_and_operation(
    server: ArgoCDStandIn, client: ArgoCDClient, fake_time: FakeTime
) -> None:
    server.fail(CREATE_APPLICATIONSET, UNAVAILABLE, times=10)

    with pytest.raises(ArgoCDError) as caught:
        client.upsert_applicationset(applicationset())

    message = str(caught.value)
    assert message.startswith("argocd upsert applicationset cluster-addons: 503 ")
    assert f"from {server.url}" in message and "gave up after 4 attempts" in message
    assert caught.value.status == 503
    assert len(server.calls(CREATE_APPLICATIONSET)) == 4
    assert fake_time.sleeps == [0.5, 1.0, 2.0]


def test_a_dropped_connection_is_retried_then_succeeds(
    server: ArgoCDStandIn, client: ArgoCDClient, fake_time: FakeTime
) -> None:
    client.upsert_application(application())
    server.fail(GET_APPLICATION, DROP, times=2)

    assert client.app_status("platform-bootstrap", "default") == AppStatus("Synced", "Healthy")
    assert len(server.calls(GET_APPLICATION)) == 3
    assert fake_time.sleeps == [0.5, 1.0]


def test_a_refused_connection_is_retried_then_fails_naming_the_url_and_operation(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{unused_port()}"
    with make_client(url, fake_time) as argocd, pytest.raises(ArgoCDError) as caught:
        argocd.upsert_application(application())

    message = str(caught.value)
    assert message.startswith(f"argocd upsert application platform-bootstrap: cannot reach {url}")
    assert "ConnectError" in message and "gave up after 4 attempts" in message
    assert caught.value.status is None and caught.value.code is None
    assert fake_time.sleeps == [0.5, 1.0, 2.0]
    assert "argocd retry operation=upsert_application name=platform-bootstrap" in caplog.text
    assert TOKEN not in caplog.text and TOKEN not in message


def test_the_token_is_not_in_the_client_repr_nor_the_server_url_credentials() -> None:
    argocd = ArgoCDClient("https://admin:hunter2@argocd.example.com/", TOKEN)
    try:
        assert repr(argocd) == "ArgoCDClient(server='https://argocd.example.com')"
        assert TOKEN not in repr(argocd) and "hunter2" not in repr(argocd)
    finally:
        argocd.close()


def test_a_token_that_cannot_go_in_a_header_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as caught:
        ArgoCDClient("https://argocd.example.com", "abc\ndef-secret")
    assert "def-secret" not in str(caught.value)


def test_the_stand_in_rejects_an_application_without_metadata(
    server: ArgoCDStandIn, client: ArgoCDClient, fake_time: FakeTime
) -> None:
    app = application()
    del app["metadata"]

    with pytest.raises(ArgoCDError) as caught:
        client.upsert_application(app)

    assert (caught.value.status, caught.value.code) == (400, 3)
    assert "metadata is required" in str(caught.value)
    assert server.violations == [
        "ApplicationService_Create: v1alpha1Application: metadata is required "
        "(CRD required: [metadata, spec])"
    ]
    assert server.application("platform-bootstrap") is None
    assert len(server.calls(CREATE_APPLICATION)) == 1 and fake_time.sleeps == []


@pytest.mark.parametrize(
    ("path", "body", "violation"),
    [
        (
            "/api/v1/applications?upsert=true",
            {"metadata": {"name": "a", "labels": {"tier": 1}}, "spec": {}},
            "v1alpha1Application at /metadata/labels/tier: 1 is not of type 'string'",
        ),
        (
            "/api/v1/applications?upsert=true",
            {"metadata": {"name": "a"}, "spec": {"syncPolicy": {"automated": {"prune": "yes"}}}},
            "v1alpha1Application at /spec/syncPolicy/automated/prune: 'yes' is not of type",
        ),
        (
            "/api/v1/applicationsets?upsert=true",
            {"metadata": {"name": "s"}, "spec": {"generators": {"clusters": {}}}},
            "v1alpha1ApplicationSet at /spec/generators: {'clusters': {}} is not of type 'array'",
        ),
        (
            "/api/v1/applications/a/sync",
            {"name": "a", "prune": "false"},
            "applicationApplicationSyncRequest at /prune: 'false' is not of type 'boolean'",
        ),
        (
            "/api/v1/applications?upsert=yes",
            {"metadata": {"name": "a"}, "spec": {}},
            "query parameter 'upsert' must be true or false",
        ),
        (
            "/api/v1/applicationsets?validate=false",
            {"metadata": {"name": "s"}, "spec": {}},
            "query parameter 'validate' is not declared",
        ),
    ],
)
def test_the_stand_in_rejects_requests_that_break_the_swagger_contract(
    server: ArgoCDStandIn, path: str, body: dict[str, Any], violation: str
) -> None:
    response = httpx.post(
        server.url + path, json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == 3
    assert load_contract().errors("runtimeError", response.json()) == []
    assert len(server.violations) == 1 and violation in server.violations[0]


def test_the_stand_in_accepts_int64_fields_written_as_strings_like_grpc_gateway() -> None:
    body = {"metadata": {"name": "a", "generation": "3"}, "spec": {"revisionHistoryLimit": "10"}}
    assert load_contract().errors("v1alpha1Application", body) == []
    assert load_contract().errors("v1alpha1Application", {"metadata": {"generation": "x"}}) != []


def test_the_stand_in_answers_a_missing_token_with_grpc_unauthenticated(
    server: ArgoCDStandIn,
) -> None:
    response = httpx.get(server.url + "/api/v1/applications/a?project=default")

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid session: no session information",
        "code": 16,
        "message": "invalid session: no session information",
        "details": [],
    }
