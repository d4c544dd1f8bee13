"""What stackrun shows on a pull request: a commit status per stack and one capped comment."""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest

from orchestrator.reports.render import (
    COMMENT_LIMIT,
    STATUS_PREFIX,
    CommentHeader,
    RunReport,
    comment,
    commit_state,
    plan_text_from_log,
    status_context,
    status_description,
)
from orchestrator.runstate import RunState

MARKER = "<!-- stackrun:pipeline -->"
HEADER = CommentHeader(
    pipeline_id=12,
    commit_sha="3f2a9c41d07be55e6a0c1f2b3d4e5f60718293a4",
    branch="feature/vpc-peering",
    pipeline_url="http://stackrun.test/api/v1/pipelines/12",
)

COMMIT_STATE_OF: dict[RunState, str] = {
    RunState.QUEUED: "pending",
    RunState.PREPARING: "running",
    RunState.INITIALIZING: "running",
    RunState.PLANNING: "running",
    RunState.UNCONFIRMED: "running",
    RunState.CONFIRMED: "running",
    RunState.APPLYING: "running",
    RunState.FINISHED: "success",
    RunState.FAILED: "failure",
    RunState.DISCARDED: "canceled",
    RunState.STOPPED: "canceled",
    RunState.CANCELED: "canceled",
    RunState.SKIPPED: "canceled",
}


def report(
    stack: str = "network",
    state: str = "FINISHED",
    *,
    run_id: int = 1,
    summary: dict[str, int] | None = None,
    policy: str = "pass",
    messages: tuple[str, ...] = (),
    reason: str | None = None,
    plan: str = "",
) -> RunReport:
    planned = state in ("FINISHED", "FAILED")
    return RunReport(
        run_id=run_id,
        stack=stack,
        state=state,
        summary=summary
        if summary is not None or not planned
        else {"add": 2, "change": 0, "destroy": 1},
        policy=policy,
        policy_messages=messages,
        failure_reason=reason,
        plan_text=plan,
        url=f"http://stackrun.test/api/v1/runs/{run_id}",
        log_url=f"http://stackrun.test/api/v1/runs/{run_id}/logs",
    )


def resource_plan(resources: int) -> str:
    """A plan as Terraform prints it for `resources` null resources to create."""
    blocks = [
        f"  # null_resource.r[{i}] will be created\n"
        f'  + resource "null_resource" "r" {{\n'
        f"      + id       = (known after apply)\n"
        f"      + triggers = {{\n"
        f'          + "index" = "{i}"\n'
        f"        }}\n"
        f"    }}\n"
        for i in range(resources)
    ]
    return (
        "Terraform used the selected providers to generate the following execution\n"
        "plan. Resource actions are indicated with the following symbols:\n"
        "  + create\n\n"
        "Terraform will perform the following actions:\n\n"
        + "\n".join(blocks)
        + f"\nPlan: {resources} to add, 0 to change, 0 to destroy."
    )


def table_rows(body: str) -> list[str]:
    return [line for line in body.splitlines() if line.startswith("| ") and "---" not in line][1:]


def cells(row: str) -> list[str]:
    """A table row's cells, split as GitHub splits them: on pipes not escaped by a backslash."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]


# --- commit statuses ---------------------------------------------------------------------


def test_the_commit_state_table_names_every_run_state() -> None:
    assert set(COMMIT_STATE_OF) == set(RunState)


@pytest.mark.parametrize(("state", "expected"), sorted(COMMIT_STATE_OF.items()))
def test_every_run_state_maps_to_its_neutral_commit_state(state: RunState, expected: str) -> None:
    assert commit_state(report(state=state.value)) == expected


def test_an_unknown_run_state_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="BOGUS"):
        commit_state(report(state="BOGUS"))


def test_the_status_context_is_the_stack_name_under_the_stackrun_prefix() -> None:
    assert STATUS_PREFIX == "stackrun/"
    assert status_context("network") == "stackrun/network"


def test_a_finished_plan_describes_its_counts_and_the_policy_result() -> None:
    assert status_description(report()) == "plan: +2 ~0 -1, policy pass"
    unevaluated = report(policy="", summary={"add": 0, "change": 3, "destroy": 0})
    assert status_description(unevaluated) == "plan: +0 ~3 -0"
    nothing = report(summary={"add": 0, "change": 0, "destroy": 0})
    assert status_description(nothing) == "plan: no changes, policy pass"


def test_a_warned_plan_is_a_success_that_says_the_first_warning() -> None:
    warned = report(policy="warn", messages=("guard: replaces aws_db_instance.main", "other"))
    assert commit_state(warned) == "success"
    assert status_description(warned) == (
        "plan: +2 ~0 -1, policy warn: guard: replaces aws_db_instance.main"
    )


def test_a_denied_plan_is_a_failure_that_says_the_first_deny_message() -> None:
    denied = report(
        state="FAILED",
        policy="deny",
        messages=("boundary: kubernetes_namespace.apps is owned by Argo CD", "second"),
        reason="denied by plan policy",
    )
    assert commit_state(denied) == "failure"
    assert status_description(denied) == (
        "denied by policy: boundary: kubernetes_namespace.apps is owned by Argo CD"
    )
    assert status_description(report(state="FAILED", policy="deny")) == "denied by policy"


def test_a_failed_run_says_why() -> None:
    failed = report(state="FAILED", policy="", reason="terraform plan exited 1: Error: x")
    assert status_description(failed) == "failed: terraform plan exited 1: Error: x"
    assert status_description(report(state="FAILED", policy="")) == "failed: see the run log"


@pytest.mark.parametrize(
    ("state", "reason", "expected"),
    [
        ("SKIPPED", "upstream run 4 failed", "skipped: upstream run 4 failed"),
        ("SKIPPED", None, "skipped"),
        (
            "DISCARDED",
            "superseded by pipeline 13 at 9e8d7c6",
            "discarded: superseded by pipeline 13 at 9e8d7c6",
        ),
        ("STOPPED", "stopped by alice", "stopped: stopped by alice"),
        ("CANCELED", None, "canceled"),
    ],
)
def test_a_run_ended_early_is_canceled_with_its_reason(
    state: str, reason: str | None, expected: str
) -> None:
    ended = report(state=state, reason=reason, policy="")
    assert commit_state(ended) == "canceled"
    assert status_description(ended) == expected


@pytest.mark.parametrize(("state", "expected"), [("QUEUED", "queued"), ("PLANNING", "planning")])
def test_a_run_in_progress_says_its_stage(state: str, expected: str) -> None:
    assert status_description(report(state=state, policy="")) == expected


@pytest.mark.parametrize("state", [s.value for s in RunState])
def test_every_description_is_one_line_of_at_most_140_characters(state: str) -> None:
    long = "line one\nline two " + "x" * 400
    for policy in ("", "pass", "warn", "deny"):
        text = status_description(report(state=state, policy=policy, messages=(long,), reason=long))
        assert len(text) <= 140
        assert "\n" not in text
        assert text


def test_a_cut_description_ends_with_an_ellipsis() -> None:
    text = status_description(report(state="FAILED", policy="", reason="e" * 300))
    assert len(text) == 140 and text.endswith("…") and text.startswith("failed: eee")


# --- the comment -------------------------------------------------------------------------


def test_the_comment_starts_with_the_marker_and_names_the_pipeline_and_short_commit() -> None:
    body = comment(HEADER, [report()])
    assert body.splitlines()[0] == MARKER
    title = body.splitlines()[1]
    assert "[12](http://stackrun.test/api/v1/pipelines/12)" in title
    assert "3f2a9c41d07b" in title and HEADER.commit_sha not in body
    assert "`feature/vpc-peering`" in body


def test_a_note_is_shown_above_the_table() -> None:
    header = CommentHeader(12, "a" * 40, "f", "http://s/p/12", note="pull request closed")
    body = comment(header, [report()])
    assert "> **pull request closed**" in body
    assert body.index("pull request closed") < body.index("| Stack |")


def test_two_stacks_have_one_table_row_each_and_their_plans_folded() -> None:
    network = report("network", run_id=1, plan=resource_plan(2), messages=("guard: ok-ish",))
    app = report("app", run_id=2, plan="No changes. Your infrastructure matches the configuration.")
    body = comment(HEADER, [network, app])

    assert "| Stack | State | Add | Change | Destroy | Policy | Run |" in body
    assert table_rows(body) == [
        "| network | FINISHED | 2 | 0 | 1 | pass | [#1](http://stackrun.test/api/v1/runs/1) |",
        "| app | FINISHED | 2 | 0 | 1 | pass | [#2](http://stackrun.test/api/v1/runs/2) |",
    ]
    assert body.count("<details><summary>") == 2 and body.count("</details>") == 2
    assert body.count("```diff\n") == 2
    assert resource_plan(2) in body
    assert "- guard: ok-ish" in body
    assert body.index("#### network") < body.index("#### app")


def test_a_run_without_a_plan_has_a_row_but_no_folded_section() -> None:
    body = comment(HEADER, [report("queued-one", state="QUEUED", policy="")])
    assert table_rows(body) == [
        "| queued-one | QUEUED | - | - | - | - | [#1](http://stackrun.test/api/v1/runs/1) |"
    ]
    assert "<details>" not in body


def test_policy_messages_are_listed_under_their_stack_even_without_a_plan() -> None:
    denied = report("edge", state="FAILED", policy="deny", messages=("a: no", "b: never"))
    body = comment(HEADER, [denied])
    section = body[body.index("#### edge") :]
    assert "- a: no\n- b: never\n" in section
    assert "[Full plan and log](http://stackrun.test/api/v1/runs/1/logs)" in section


def test_a_500_resource_plan_gives_one_comment_under_the_limit_with_every_row() -> None:
    huge = resource_plan(500)
    assert len(huge) > COMMENT_LIMIT
    stacks = [report(f"stack-{i}", run_id=i, plan=huge) for i in range(5)]
    body = comment(HEADER, stacks)

    assert len(body) <= COMMENT_LIMIT
    assert body.count(MARKER) == 1
    assert len(table_rows(body)) == 5
    for i in range(5):
        assert f"| stack-{i} | FINISHED |" in body
        assert f"more lines: full plan at http://stackrun.test/api/v1/runs/{i}/logs" in body
    assert body.count("<details>") == body.count("</details>") == 5
    assert body.count("```diff\n") == 5 and body.count("\n```\n") == 5


def test_a_cut_plan_keeps_its_first_lines_and_counts_the_rest() -> None:
    huge = resource_plan(500)
    body = comment(HEADER, [report(plan=huge)])
    shown = body[body.index("```diff\n") + len("```diff\n") : body.index("\n```\n")]
    assert huge.startswith(shown)
    left = int(re.findall(r"… (\d+) more lines", body)[0])
    assert len(shown.splitlines()) + left == len(huge.splitlines())
    assert shown.splitlines()[-1].strip() == "}"


def test_plans_share_the_room_fairly_and_a_small_plan_stays_whole() -> None:
    small = report("small", run_id=1, plan=resource_plan(3))
    big = [report(f"big-{i}", run_id=i + 2, plan=resource_plan(400)) for i in range(3)]
    body = comment(HEADER, [small, *big], limit=30_000)

    assert len(body) <= 30_000
    assert resource_plan(3) in body
    sections = [body[body.index(f"#### big-{i}") :] for i in range(3)]
    lengths = [len(s[: s.index("</details>")]) for s in sections]
    assert max(lengths) - min(lengths) < 300


def test_no_limit_is_ever_exceeded() -> None:
    rng = random.Random(20240601)
    for limit in [*range(0, 400, 7), *range(400, 12_000, 211)]:
        reports = [
            report(
                f"stack-{i}",
                rng.choice(["FINISHED", "FAILED", "QUEUED", "SKIPPED"]),
                run_id=i,
                plan=resource_plan(rng.randint(0, 60)),
                policy=rng.choice(["", "pass", "warn", "deny"]),
                messages=tuple(f"policy: message {j}" for j in range(rng.randint(0, 3))),
            )
            for i in range(rng.randint(1, 15))
        ]
        body = comment(HEADER, reports, limit=limit)
        assert len(body) <= limit, limit
        if limit >= 400:
            assert body.startswith(MARKER + "\n")
            assert "| Stack | State |" in body


def test_a_table_too_long_for_the_limit_counts_the_stacks_left_out() -> None:
    reports = [report(f"stack-{i:03}", run_id=i, plan=resource_plan(5)) for i in range(300)]
    body = comment(HEADER, reports, limit=4_000)
    assert len(body) <= 4_000
    rows = table_rows(body)
    shown = len(rows) - 1
    assert shown > 0 and rows[0].startswith("| stack-000 |")
    assert rows[-1] == f"| … and {300 - shown} more stacks | | | | | | |"
    assert "<details>" not in body


def test_the_comment_is_deterministic() -> None:
    reports = [report(f"s{i}", run_id=i, plan=resource_plan(200)) for i in range(3)]
    assert comment(HEADER, reports, limit=9_000) == comment(HEADER, reports, limit=9_000)


def test_a_plan_holding_code_fences_cannot_break_out_of_its_block() -> None:
    plan = 'resource "x" "y" {\n  body = <<EOT\n```\n````hcl\nEOT\n}'
    body = comment(HEADER, [report(plan=plan)])
    assert "`````diff\n" + plan + "\n`````\n" in body
    assert body.count("`````") == 2


def test_pipes_and_newlines_in_names_and_messages_keep_the_table_whole() -> None:
    weird = report(
        "edge|cdn\nprod",
        state="FAILED",
        policy="deny",
        messages=("no | here\nreally",),
    )
    body = comment(HEADER, [weird, report("app", run_id=2)])
    rows = table_rows(body)
    assert len(rows) == 2
    assert rows[0].startswith("| edge\\|cdn prod | FAILED |")
    assert all(len(cells(row)) == 7 for row in rows)
    assert "- no | here really\n" in body


def test_markdown_and_html_in_messages_render_as_written() -> None:
    message = "guard: <kubernetes_namespace.apps> is *owned* by [argo](x) `cd`"
    body = comment(
        HEADER, [report(state="FAILED", policy="deny", messages=(message, "# not a title"))]
    )
    assert (
        "- guard: \\<kubernetes\\_namespace.apps\\> is \\*owned\\* by \\[argo\\](x) \\`cd\\`"
        in body
    )
    assert "- \\# not a title" in body
    assert re.search(r"(?<!\\)<kubernetes", body) is None


def test_a_plan_that_failed_before_its_summary_shows_terraforms_output() -> None:
    error = "Error: Reference to undeclared input variable"
    failed = replace(report(state="FAILED", policy="", plan=error), summary=None)
    body = comment(HEADER, [failed])
    assert "<details><summary>Terraform output</summary>\n\n```diff\n" + error in body


# --- the plan out of a run log -----------------------------------------------------------

INIT = """$ terraform init -input=false -no-color -backend-config=stackrun.tfbackend

Initializing the backend...

Initializing provider plugins...
- Finding latest version of hashicorp/null...
- Installing hashicorp/null v2.1.2...
- Installed hashicorp/null v2.1.2 (unauthenticated)

Terraform has been successfully initialized!
"""

PLAN = """Terraform used the selected providers to generate the following execution
plan. Resource actions are indicated with the following symbols:
-/+ destroy and then create replacement

Terraform will perform the following actions:

  # null_resource.r[0] must be replaced
-/+ resource "null_resource" "r" {
      ~ id       = "2303496505100023982" -> (known after apply)
      ~ triggers = { # forces replacement
          ~ "v" = "x" -> "y"
        }
    }

Plan: 1 to add, 0 to change, 1 to destroy."""

LOG = (
    "stackrun: planning acme/platform/network at 3f2a9c41 (PROPOSED)\n"
    "state: managed by stackrun at http://127.0.0.1:8000/api/v1/state/network\n"
    "stackrun: input vpc_id from an upstream stack's last applied outputs\n"
    + INIT
    + "$ terraform plan -input=false -no-color -out=plan.tfplan -detailed-exitcode -lock=false\n"
    "null_resource.a: Refreshing state... [id=3616740476482734875]\n"
    "null_resource.r[0]: Refreshing state... [id=2303496505100023982]\n"
    "data.aws_caller_identity.current: Reading...\n"
    "data.aws_caller_identity.current: Still reading... [10s elapsed]\n"
    "data.aws_caller_identity.current: Read complete after 11s [id=123456789012]\n"
    "\n" + PLAN + "\n\n\n"
    "stackrun: plan {'add': 1, 'change': 0, 'destroy': 1} sha256=9f86d081884c7d65\n"
    "policy: boundary v1 (plan) → pass\n"
    "policy: guard v3 (plan) → warn: replaces null_resource.r[0]\n"
)


def test_the_plan_text_is_terraforms_plan_without_refresh_noise_or_stackruns_lines() -> None:
    assert plan_text_from_log(LOG) == PLAN


def test_a_plan_with_no_changes_is_its_no_changes_message() -> None:
    log = (
        INIT + "$ terraform plan -input=false -no-color -out=plan.tfplan -detailed-exitcode\n"
        "null_resource.a: Refreshing state... [id=3616740476482734875]\n"
        "\n"
        "No changes. Your infrastructure matches the configuration.\n"
        "\n"
        "Terraform has compared your real infrastructure against your configuration\n"
        "and found no differences, so no changes are needed.\n"
        "\n"
        "stackrun: plan {'add': 0, 'change': 0, 'destroy': 0} sha256=ab\n"
    )
    assert plan_text_from_log(log) == (
        "No changes. Your infrastructure matches the configuration.\n\n"
        "Terraform has compared your real infrastructure against your configuration\n"
        "and found no differences, so no changes are needed."
    )


def test_a_log_without_a_plan_gives_no_plan_text() -> None:
    assert plan_text_from_log("") == ""
    assert plan_text_from_log("stackrun: run failed: fetching commit 3f2a: not found\n") == ""
    assert plan_text_from_log(INIT + "stackrun: run failed: init\n") == ""


def test_a_failed_plan_gives_terraforms_error_output() -> None:
    log = (
        "$ terraform plan -input=false -no-color -out=plan.tfplan -detailed-exitcode\n"
        "\n"
        "Error: Reference to undeclared input variable\n"
        "\n"
        '  on main.tf line 1, in resource "null_resource" "bad":\n'
        "stackrun: run failed: terraform plan exited 1\n"
    )
    assert plan_text_from_log(log) == (
        "Error: Reference to undeclared input variable\n\n"
        '  on main.tf line 1, in resource "null_resource" "bad":'
    )


def test_the_last_plan_of_a_log_is_the_one_shown() -> None:
    log = (
        "$ terraform plan -out=p\nNo changes. First attempt.\nstackrun: worker lost\n"
        + "$ terraform plan -out=p\n"
        + PLAN
        + "\n"
    )
    assert plan_text_from_log(log) == PLAN


def test_a_plan_attribute_that_looks_like_refresh_noise_is_kept() -> None:
    plan = (
        "Terraform will perform the following actions:\n\n"
        '      + description = "x: Reading... the manual"\n'
        "Plan: 1 to add, 0 to change, 0 to destroy."
    )
    assert plan_text_from_log("$ terraform plan\n" + plan) == plan
