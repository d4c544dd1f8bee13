"""One error shape across the API, `{"detail": str, "errors": [...]}`, and an OpenAPI document
that declares it for every refusal."""

from __future__ import annotations

from fastapi.testclient import TestClient

from orchestrator.api.app import create_app
from tests.unit.api.conftest import Api

ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def test_every_declared_refusal_is_the_error_body_in_json(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    refusals = [
        (path, method, status, answer)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for status, answer in operation["responses"].items()
        if status[0] in "45" and not (path == "/readyz" and status == "503")
    ]
    assert len(refusals) > 100
    for path, method, status, answer in refusals:
        assert answer["content"] == ERROR_BODY, (path, method, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_a_route_declares_what_it_refuses_with(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert statuses("/api/v1/runs/{run_id}/{action}", "post") == {
        "200", "400", "401", "403", "404", "409", "422"
    }  # fmt: skip
    assert statuses("/webhooks/github", "post") == {"200", "202", "401", "413", "422"}
    assert statuses("/api/v1/repositories", "get") == {"200", "401"}
    assert statuses("/api/v1/stacks", "get") == {"200", "401", "422"}  # limit, offset
    assert statuses("/readyz", "get") == {"200", "503"}
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}


def test_the_openapi_document_names_both_credentials(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["token"]["scheme"] == "bearer"
    assert schemes["runCredential"]["scheme"] == "basic"
    state = document["paths"]["/api/v1/stacks/{stack_id}/state"]
    assert state["get"]["security"] == [{"runCredential": []}, {"token": []}]
    assert state["post"]["security"] == [{"runCredential": []}]


def test_a_malformed_request_lists_each_field_and_never_echoes_the_value(api: Api) -> None:
    response = api.client.post(
        "/api/v1/tokens",
        headers=api.auth("admin"),
        json={"name": "", "role": "root", "vcs_login": 7},
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert [e["loc"] for e in body["errors"]] == [
        ["body", "name"],
        ["body", "role"],
        ["body", "vcs_login"],
    ]
    assert body["detail"].startswith("invalid request: body.name: ")
    assert "root" not in response.text


def test_a_secret_in_an_invalid_body_is_not_echoed(api: Api) -> None:
    response = api.client.post(
        "/api/v1/notifications",
        headers=api.auth("admin"),
        json={"url": "https://hooks.example.com", "events": "all", "secret": ["s3cr3t-value"]},
    )
    assert response.status_code == 422
    assert "s3cr3t-value" not in response.text


def test_a_refusal_a_missing_route_and_a_wrong_method_share_the_shape(api: Api) -> None:
    refused = api.client.post("/api/v1/tokens", json={"name": "a", "role": "viewer"})
    missing = api.client.get("/api/v1/nothing-here")
    wrong = api.client.delete("/api/v1/contexts")
    for response, status in ((refused, 401), (missing, 404), (wrong, 405)):
        assert response.status_code == status
        assert set(response.json()) == {"detail", "errors"}
        assert isinstance(response.json()["detail"], str) and response.json()["errors"] == []


def test_a_wrong_method_is_told_every_method_the_url_takes(api: Api) -> None:
    response = api.client.delete("/api/v1/contexts")
    assert response.headers["Allow"] == "GET, POST"
    response = api.client.post("/api/v1/runs/1/environment")
    assert (response.status_code, response.headers["Allow"]) == (405, "GET")


def test_a_body_that_is_not_json_is_a_400_in_the_shape(api: Api) -> None:
    response = api.client.post(
        "/api/v1/contexts",
        headers={**api.auth("admin"), "Content-Type": "application/json"},
        content=b"\xff\xfe{",
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body", "errors": []}


def test_a_json_number_is_no_boolean(api: Api) -> None:
    response = api.client.post(
        "/api/v1/contexts/none/variables",
        headers=api.auth("admin"),
        json={"name": "A", "value": "v", "secret": 0},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "secret"]


def test_a_duplicate_token_name_is_a_conflict(api: Api) -> None:
    response = api.client.post(
        "/api/v1/tokens", headers=api.auth("admin"), json={"name": "viewer", "role": "viewer"}
    )
    assert response.status_code == 409
    assert "a token named 'viewer' already exists" in response.json()["detail"]


def test_an_unexpected_failure_keeps_the_shape_and_tells_nothing_of_it() -> None:
    app = create_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("the database password is hunter2")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "internal error serving GET /boom; see the server log",
        "errors": [],
    }
