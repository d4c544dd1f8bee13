"""What a proposed pipeline shows on a pull request: statuses and one capped comment. Pure."""

from __future__ import annotations

import pytest

from orchestrator.reports.render import (
    COMMENT_LIMIT,
    CommentHeader,
    RunReport,
    comment,
    commit_state,
    plan_text_from_log,
    status_context,
    status_description,
)
from orchestrator.runs.state import RunState

HEADER = CommentHeader(7, "c0ffee" * 6 + "abcd", "feature/x", "http://s/api/v1/pipelines/7")


def _report(
    stack: str = "network",
    state: str = "FINISHED",
    plan: str = "",
    policy: str = "pass",
    messages: tuple[str, ...] = (),
    reason: str | None = None,
    run_id: int = 1,
) -> RunReport:
    return RunReport(
        run_id=run_id,
        stack=stack,
        state=state,
        summary={"add": 2, "change": 0, "destroy": 1} if state in ("FINISHED", "FAILED") else None,
        policy=policy,
        policy_messages=messages,
        failure_reason=reason,
        plan_text=plan,
        url=f"http://s/api/v1/runs/{run_id}",
        log_url=f"http://s/api/v1/runs/{run_id}/logs",
    )


def _big_plan(resources: int) -> str:
    blocks = [
        f"  # null_resource.r[{i}] will be created\n"
        f'  + resource "null_resource" "r" {{\n      + id = (known after apply)\n    }}\n'
        for i in range(resources)
    ]
    return (
        "Terraform will perform the following actions:\n\n"
        + "\n".join(blocks)
        + f"\nPlan: {resources} to add, 0 to change, 0 to destroy."
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("QUEUED", "pending"),
        ("PREPARING", "running"),
        ("INITIALIZING", "running"),
        ("PLANNING", "running"),
        ("UNCONFIRMED", "running"),
        ("CONFIRMED", "running"),
        ("APPLYING", "running"),
        ("FINISHED", "success"),
        ("FAILED", "failure"),
        ("DISCARDED", "canceled"),
        ("CANCELED", "canceled"),
        ("SKIPPED", "canceled"),
        ("STOPPED", "canceled"),
    ],
)
def test_every_run_state_maps_to_a_commit_state(state: str, expected: str) -> None:
    assert commit_state(_report(state=state)) == expected


def test_the_state_table_covers_every_run_state() -> None:
    assert {s.value for s in RunState} == {
        "QUEUED",
        "PREPARING",
        "INITIALIZING",
        "PLANNING",
        "UNCONFIRMED",
        "CONFIRMED",
        "APPLYING",
        "FINISHED",
        "FAILED",
        "DISCARDED",
        "CANCELED",
        "SKIPPED",
        "STOPPED",
    }


def test_descriptions_say_the_plan_the_policy_deny_or_the_failure_in_140_characters() -> None:
    assert status_description(_report()) == "plan: +2 ~0 -1, policy pass"
    denied = _report(state="FAILED", policy="deny", messages=("guard: x may not be created",))
    assert status_description(denied) == "denied by policy: guard: x may not be created"
    warned = _report(policy="warn", messages=("guard: replaces y",))
    assert status_description(warned) == "plan: +2 ~0 -1, policy warn: guard: replaces y"
    failed = _report(state="FAILED", policy="", reason="terraform plan failed:\n" + "e" * 300)
    assert status_description(failed).startswith("failed: terraform plan failed: eee")
    assert len(status_description(failed)) == 140
    stopped = _report(state="STOPPED", reason="superseded by pipeline 9 at abc")
    assert status_description(stopped) == "stopped: superseded by pipeline 9 at abc"
    assert status_context("network") == "stackrun/network"


def test_two_stacks_make_one_table_row_each_and_their_plans_fold() -> None:
    body = comment(
        HEADER,
        [_report("network", plan="Plan: 1 to add"), _report("app", plan="No changes.", run_id=2)],
    )
    assert body.startswith("<!-- stackrun:pipeline -->")
    assert (
        body.count("| network | FINISHED | 2 | 0 | 1 | pass | [#1](http://s/api/v1/runs/1) |") == 1
    )
    assert body.count("| app | FINISHED |") == 1
    assert body.count("<details>") == 2 and body.count("</details>") == 2
    assert "`c0ffeec0ffee`" in body and "feature/x" in body


def test_a_500_resource_plan_gives_one_comment_under_the_limit_with_every_row() -> None:
    reports = [_report(f"s{i}", plan=_big_plan(500), run_id=i) for i in range(4)]
    body = comment(HEADER, reports)
    assert len(body) <= COMMENT_LIMIT
    for i in range(4):
        assert f"| s{i} | FINISHED |" in body
        assert f"more lines: full plan at http://s/api/v1/runs/{i}/logs" in body
    assert "null_resource.r[0]" in body


@pytest.mark.parametrize("limit", [300, 500, 800, 1200, 2000, 5000, 20_000])
def test_no_limit_is_ever_exceeded(limit: int) -> None:
    reports = [_report(f"stack-{i}", plan=_big_plan(50), run_id=i) for i in range(12)]
    body = comment(HEADER, reports, limit=limit)
    assert len(body) <= limit
    assert body.startswith("<!-- stackrun:pipeline -->")


def test_a_table_too_long_for_the_limit_counts_the_stacks_left_out() -> None:
    reports = [_report(f"stack-{i}", run_id=i) for i in range(200)]
    body = comment(HEADER, reports, limit=3000)
    assert len(body) <= 3000
    assert "more stacks |" in body and "| stack-0 |" in body


def test_a_plan_holding_a_code_fence_does_not_break_out_of_its_block() -> None:
    body = comment(HEADER, [_report(plan='x = "```"\n````')])
    assert "`````diff" in body and body.count("`````") == 2


def test_pipes_and_newlines_in_names_and_messages_keep_the_table_whole() -> None:
    body = comment(
        HEADER, [_report("a|b", state="FAILED", policy="deny", messages=("no\n| here",))]
    )
    assert "| a\\|b | FAILED |" in body
    assert "- no | here" in body


def test_a_superseded_pipeline_says_so_at_the_top() -> None:
    header = CommentHeader(7, "a" * 40, "f", "http://s/p/7", note="superseded by pipeline 8")
    assert "> **superseded by pipeline 8**" in comment(header, [_report()])


LOG = """stackrun: planning acme/p/network at abc (PROPOSED)
$ terraform init -input=false
Initializing the backend...
$ terraform plan -input=false -out=plan.tfplan
null_resource.n0: Refreshing state... [id=123]
data.x.y: Reading...
data.x.y: Read complete after 0s
Terraform used the selected providers to generate the following execution plan.
  + create

Terraform will perform the following actions:

  # null_resource.n1 will be created
  + resource "null_resource" "n1" {
      + id = (known after apply)
    }

Plan: 1 to add, 0 to change, 0 to destroy.

$ terraform show -json plan.tfplan
policy: guard v1 (plan) → allow
"""


def test_the_plan_text_is_terraforms_plan_output_without_refresh_noise() -> None:
    text = plan_text_from_log(LOG)
    assert text.startswith("Terraform used the selected providers")
    assert text.endswith("Plan: 1 to add, 0 to change, 0 to destroy.")
    assert "Refreshing state" not in text and "Reading..." not in text
    assert "terraform show" not in text and "policy:" not in text


def test_no_changes_and_a_log_without_a_plan() -> None:
    no_changes = (
        "$ terraform plan -out=p\nx: Refreshing state... [id=1]\n\n"
        "No changes. Your infrastructure matches the configuration.\n\n"
    )
    assert plan_text_from_log(no_changes) == (
        "No changes. Your infrastructure matches the configuration."
    )
    assert plan_text_from_log("stackrun: run failed: fetching commit\n") == ""
