"""A database that does not answer is a 503 to retry, in the one error shape."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy.exc import OperationalError
from starlette.requests import Request

from orchestrator.api import errors


def _request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/api/v1/runs", "headers": []})


def test_a_database_that_does_not_answer_is_a_503_with_retry_after() -> None:
    down = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
    answer = asyncio.run(errors.internal_error(_request(), down))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    body = json.loads(bytes(answer.body))
    assert body["detail"].startswith("the database does not answer") and body["errors"] == []


def test_any_other_fault_is_a_500_that_names_the_request_only() -> None:
    answer = asyncio.run(errors.internal_error(_request(), RuntimeError("secret detail")))
    assert answer.status_code == 500
    assert b"secret detail" not in bytes(answer.body)
