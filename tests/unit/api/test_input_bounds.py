"""Every number a request carries is bounded before it reaches the database: a 422 in the one
error shape, never a 500 (SQLite cannot hold an integer past 64 bits, PostgreSQL's INTEGER past
32) and never every row."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from orchestrator.models import MAX_INTEGER
from tests.unit.api.conftest import Api

HUGE = 2**64 + 1


def _integer_path_operations(api: Api) -> list[tuple[str, str, str]]:
    """(method, path template, parameter) of every operation with an integer path parameter."""
    found = []
    for path, item in api.client.get("/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                    found.append((method, path, parameter["name"]))
    return found


def _url(path: str, values: dict[str, Any]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    return path.replace("{action}", "approve").replace("{name}", "x").replace("{stack_id}", "s")


def test_every_integer_path_parameter_past_the_database_range_is_a_422_naming_it(
    api: Api,
) -> None:
    operations = _integer_path_operations(api)
    assert len(operations) >= 12, operations  # runs, pipelines, repositories, their variables
    for method, path, name in operations:
        for value in (HUGE, MAX_INTEGER + 1, 0, -1):
            response = api.client.request(
                method, _url(path, {name: value}), headers=api.auth("admin"), json={}
            )
            assert response.status_code == 422, (method, path, value, response.text)
            locs = [error["loc"] for error in response.json()["errors"]]
            assert ["path", name] in locs, (method, path, value, locs)


def test_the_largest_id_the_database_holds_is_looked_up_and_not_found(api: Api) -> None:
    response = api.client.get(f"/api/v1/runs/{MAX_INTEGER}", headers=api.auth("viewer"))
    assert response.status_code == 404
    assert response.json() == {"detail": f"run {MAX_INTEGER} does not exist", "errors": []}


@pytest.mark.parametrize(
    ("path", "maximum"),
    [("/api/v1/runs", 1000), ("/api/v1/pipelines", 500), ("/api/v1/audit", 5000)],
)
def test_limit_is_between_one_and_its_maximum(api: Api, path: str, maximum: int) -> None:
    for limit in (-1, 0, maximum + 1, HUGE):
        response = api.client.get(path, params={"limit": limit}, headers=api.auth("admin"))
        assert response.status_code == 422, (limit, response.text)
        assert response.json()["errors"][0]["loc"] == ["query", "limit"]
    for limit in (1, maximum):
        response = api.client.get(path, params={"limit": limit}, headers=api.auth("admin"))
        assert response.status_code == 200, (limit, response.text)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/runs", "pipeline"),
        ("/api/v1/pipelines", "repository"),
        ("/api/v1/pipelines", "pr"),
    ],
)
def test_a_number_to_filter_by_past_the_database_range_is_a_422(
    api: Api, path: str, name: str
) -> None:
    response = api.client.get(path, params={name: HUGE}, headers=api.auth("viewer"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", name]


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("user", ["run-999999999999999999999", "run-²", "run-0", "run-01", "run-"])
def test_a_state_credential_naming_no_possible_run_is_the_same_401(api: Api, user: str) -> None:
    for method in ("GET", "POST", "LOCK", "UNLOCK"):
        response = api.client.request(
            method, "/api/v1/stacks/acme/p/vpc/state", headers=_basic(user, "pw"), content=b"{}"
        )
        assert response.status_code == 401, (method, user, response.text)
        assert response.headers["WWW-Authenticate"] == 'Basic realm="stackrun-state"'


def test_a_run_credential_for_a_huge_run_is_refused_before_any_lookup(api: Api) -> None:
    response = api.client.get(
        f"/api/v1/runs/{HUGE}/environment", headers=_basic(f"run-{HUGE}", "secret")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "run_id"]


@pytest.mark.parametrize(
    "url", ["/api/v1/policies/a%00b", "/api/v1/stacks/a%00b/variables", "/api/v1/runs?stack=a%00"]
)
def test_a_nul_in_a_path_or_query_is_a_422_before_any_query(api: Api, url: str) -> None:
    """PostgreSQL cannot compare text holding NUL: it was a 500 there."""
    response = api.client.get(url, headers=api.auth("viewer"))
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"] and response.json()["errors"] == []


def test_a_nul_anywhere_in_a_json_body_is_a_422_naming_the_field(api: Api) -> None:
    response = api.client.post(
        "/api/v1/contexts",
        headers=api.auth("admin"),
        json={"name": "team", "labels": ["ok", "bad\u0000label"]},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "labels"]
    assert "NUL" in response.json()["errors"][0]["msg"]


def test_a_token_name_fits_the_audit_trail(api: Api) -> None:
    """The audit row names it `token:<name>` in 200 characters (PostgreSQL refused 206)."""
    too_long = api.client.post(
        "/api/v1/tokens", headers=api.auth("admin"), json={"name": "n" * 101, "role": "viewer"}
    )
    assert too_long.status_code == 422
    longest = api.client.post(
        "/api/v1/tokens", headers=api.auth("admin"), json={"name": "n" * 100, "role": "viewer"}
    )
    assert longest.status_code == 201, longest.text


@pytest.mark.parametrize("url", ["/api/v1/stacks/a%0Ab/state", "/api/v1/stacks/x%1B/unlock"])
def test_a_control_character_in_a_path_is_a_422_not_a_missing_route(api: Api, url: str) -> None:
    """No route's path converter matches a newline: without this it was an undocumented 404."""
    response = api.client.post(url, headers=api.auth("admin"))
    assert response.status_code == 422
    assert "control character" in response.json()["detail"]
