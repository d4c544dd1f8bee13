"""GET /api/v1/boundary and its "who owns" questions: viewers read, only admins start a
check, a malformed question is a 422 that says why, never a 500."""

from __future__ import annotations

from tests.unit.api.conftest import Api


def test_a_viewer_reads_findings_but_cannot_start_a_check(api: Api) -> None:
    answer = api.client.get("/api/v1/boundary", headers=api.auth("viewer"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"findings": [], "checks": []}
    refused = api.client.post("/api/v1/boundary/check", headers=api.auth("viewer"))
    assert refused.status_code == 403
    assert "boundary check needs admin" in refused.text
    assert api.client.get("/api/v1/boundary").status_code == 401


def test_malformed_questions_are_422_with_the_reason(api: Api) -> None:
    viewer = api.auth("viewer")
    bad_arn = api.client.get("/api/v1/boundary/owners?arn=arn:aws:rds:x", headers=viewer)
    assert bad_arn.status_code == 422 and "is not an ARN" in bad_arn.text
    both = api.client.get("/api/v1/boundary/owners", headers=viewer)
    assert both.status_code == 422 and "exactly one" in both.text
    huge = api.client.get("/api/v1/boundary/owners", params={"arn": "a" * 5000}, headers=viewer)
    assert huge.status_code == 422
    status = api.client.get("/api/v1/boundary?status=nope", headers=viewer)
    assert status.status_code == 422


def test_an_unowned_arn_has_no_owner(api: Api) -> None:
    answer = api.client.get(
        "/api/v1/boundary/owners",
        params={"arn": "arn:aws:rds:eu-west-1:111122223333:db:nobody"},
        headers=api.auth("viewer"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["terraform"] == [] and answer.json()["argocd"] == []
