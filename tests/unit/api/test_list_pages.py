"""The lists show what a row shows on its own: a page of pipelines (runs, edges, hand-offs
loaded for the whole page at once) matches each pipeline read alone, runs filter by stack,
state and pipeline newest first, and a page of stacks is that slice of the full list."""

from __future__ import annotations

from typing import Any

from orchestrator import db as database
from orchestrator.models import Handoff, Pipeline, Repository, Run, Stack
from tests.unit.api.conftest import Api


def _seed() -> None:
    with database.session_scope() as session:
        session.add(
            Repository(
                id=1,
                name="acme/p",
                clone_url="file:///x",
                branch="main",
                provider="github",
                webhook_secret_enc=b"x",
            )
        )
        for name in ("a", "b", "c", "d", "e"):
            session.add(Stack(id=f"acme/p/{name}", repository_id=1, path=name, name=name))
        session.flush()
        for number in (1, 2, 3):
            session.add(
                Pipeline(id=number, repository_id=1, commit_sha=f"{number}" * 40, branch="main")
            )
        session.flush()
        run_id = 0
        for pipeline in (1, 2, 3):
            upstream: list[int] = []
            for name in ("a", "b", "c"):
                run_id += 1
                state = "FAILED" if run_id % 4 == 0 else "FINISHED"
                session.add(
                    Run(
                        id=run_id,
                        stack_id=f"acme/p/{name}",
                        pipeline_id=pipeline,
                        kind="TRACKED",
                        state=state,
                        commit_sha=f"{pipeline}" * 40,
                        branch="main",
                        triggered_by="push:dev",
                        upstream_run_ids=upstream,
                        resource_changes=[{"address": "null_resource.x", "actions": ["create"]}],
                    )
                )
                upstream = [run_id]
        session.flush()
        session.add(Handoff(pipeline_id=2, run_id=6, stack_id="acme/p/c", status="done"))


def _get(api: Api, path: str) -> Any:
    answer = api.client.get(path, headers=api.auth("viewer"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_page_of_pipelines_shows_each_pipeline_as_it_reads_alone(api: Api) -> None:
    _seed()
    page = _get(api, "/api/v1/pipelines?limit=50")
    assert [p["id"] for p in page] == [3, 2, 1]
    for listed in page:
        assert listed == _get(api, f"/api/v1/pipelines/{listed['id']}")
    second = page[1]
    assert [r["id"] for r in second["runs"]] == [4, 5, 6]
    assert second["edges"] == [{"from": 4, "to": 5}, {"from": 5, "to": 6}]
    assert [h["stack_id"] for h in second["handoffs"]] == ["acme/p/c"]
    assert page[0]["handoffs"] == [] and page[2]["handoffs"] == []


def test_runs_filter_newest_first_and_a_listed_run_is_its_detail_without_the_extras(
    api: Api,
) -> None:
    _seed()
    assert [r["id"] for r in _get(api, "/api/v1/runs?limit=4")] == [9, 8, 7, 6]
    assert [r["id"] for r in _get(api, "/api/v1/runs?state=failed")] == [8, 4]
    assert [r["id"] for r in _get(api, "/api/v1/runs?stack=acme/p/b&limit=2")] == [8, 5]
    assert [r["id"] for r in _get(api, "/api/v1/runs?pipeline=2")] == [6, 5, 4]
    listed = _get(api, "/api/v1/runs?pipeline=1&limit=1")[0]
    detail = _get(api, f"/api/v1/runs/{listed['id']}")
    assert detail["resource_changes"] == [{"address": "null_resource.x", "actions": ["create"]}]
    assert listed == {key: detail[key] for key in listed}


def test_a_page_of_stacks_is_that_slice_of_every_stack_by_id(api: Api) -> None:
    _seed()
    every = _get(api, "/api/v1/stacks")
    assert [s["id"] for s in every] == [f"acme/p/{n}" for n in "abcde"]
    assert _get(api, "/api/v1/stacks?limit=2&offset=1") == every[1:3]
    assert _get(api, "/api/v1/stacks?offset=4") == every[4:]
    assert _get(api, "/api/v1/stacks?limit=2&offset=9") == []
    refused = api.client.get("/api/v1/stacks?limit=0", headers=api.auth("viewer"))
    assert refused.status_code == 422


def test_a_listed_run_keeps_a_number_past_64_bits_exactly(api: Api) -> None:
    _seed()
    with database.session_scope() as session:
        run = session.get(Run, 9)
        assert run is not None
        run.plan_summary = {"add": 2**70, "change": 12345678901234567890, "destroy": 0}
    listed = _get(api, "/api/v1/runs?limit=1")[0]
    assert listed["plan_summary"] == {"add": 2**70, "change": 12345678901234567890, "destroy": 0}
