"""What policies are shown: sensitive values masked, Spacelift's names for our facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.models import Run, Stack
from orchestrator.policy import inputs

PLANS = Path(__file__).resolve().parents[2] / "data" / "plans"


def facts(**changes: Any) -> inputs.RunFacts:
    values: dict[str, Any] = {
        "run_id": 7,
        "kind": "TRACKED",
        "state": "PLANNING",
        "commit_sha": "a" * 40,
        "commit_author": "dev1",
        "commit_message": "bump",
        "branch": "main",
        "triggered_by": "push:dev1",
        "stack_id": "acme/platform/db",
        "stack_name": "db",
        "stack_path": "db",
        "labels": ("prod",),
        "autodeploy": False,
        "repository": "acme/platform",
        "worker_pool": "default",
    }
    values.update(changes)
    return inputs.RunFacts(**values)


def test_sensitive_attributes_reach_a_policy_only_as_a_fingerprint() -> None:
    plan = json.loads((PLANS / "aws-db-replace.json").read_text())
    shown = json.dumps(inputs.plan_input(facts(), plan))
    db = next(rc for rc in plan["resource_changes"] if rc["type"] == "aws_db_instance")
    password = db["change"]["after"]["password"]
    assert password not in shown
    assert inputs.fingerprint(password) in shown


def test_mask_replaces_only_the_marked_parts_of_nested_values() -> None:
    value = {"name": "x", "tags": {"a": "1", "secret": "s"}, "list": ["p", "q"]}
    marks = {"tags": {"secret": True}, "list": [False, True]}
    assert inputs.mask(value, marks) == {
        "name": "x",
        "tags": {"a": "1", "secret": inputs.fingerprint("s")},
        "list": ["p", inputs.fingerprint("q")],
    }


def test_a_fingerprint_is_sha256_with_its_last_16_hex_digits() -> None:
    shown = inputs.fingerprint("hunter2")
    assert shown.startswith("sha256:") and len(shown) == len("sha256:") + 16


def test_sensitive_variables_and_outputs_are_masked_too() -> None:
    plan = {
        "variables": {"db_password": {"value": "pw"}, "region": {"value": "eu-west-1"}},
        "configuration": {"root_module": {"variables": {"db_password": {"sensitive": True}}}},
        "output_changes": {
            "dsn": {"actions": ["create"], "after": "postgres://pw@db", "after_sensitive": True}
        },
        "resource_changes": [],
    }
    shown = inputs.masked_plan(plan)
    assert shown["variables"]["db_password"] == {"value": inputs.fingerprint("pw")}
    assert shown["variables"]["region"] == {"value": "eu-west-1"}
    assert shown["output_changes"]["dsn"]["after"] == inputs.fingerprint("postgres://pw@db")


def test_spacelift_changes_name_terraform_actions_the_way_spacelift_does() -> None:
    plan = {
        "resource_changes": [
            {
                "address": f"null_resource.{name}",
                "type": "null_resource",
                "name": name,
                "mode": "managed",
                "change": {"actions": actions},
            }
            for name, actions in (
                ("a", ["create"]),
                ("b", ["update"]),
                ("c", ["delete"]),
                ("d", ["delete", "create"]),
                ("e", ["no-op"]),
            )
        ]
    }
    changes = inputs.spacelift_changes(plan)
    assert [(c["entity"]["address"], c["action"]) for c in changes] == [
        ("null_resource.a", "added"),
        ("null_resource.b", "changed"),
        ("null_resource.c", "deleted"),
        ("null_resource.d", "replaced"),
    ]
    assert {c["entity"]["entity_type"] for c in changes} == {"resource"}


def test_the_plan_input_offers_our_names_and_spacelifts() -> None:
    document = inputs.plan_input(facts(stack_path="."), {"resource_changes": []})
    assert document["stackrun"]["stack"]["labels"] == ["prod"]
    assert document["stackrun"]["run"]["commit"]["sha"] == "a" * 40
    assert document["spacelift"]["run"]["type"] == "TRACKED"
    assert document["spacelift"]["commit"]["hash"] == "a" * 40
    assert document["spacelift"]["stack"]["project_root"] == ""


def test_the_approval_input_splits_reviews_and_counts_the_plan() -> None:
    reviews = [
        inputs.Review("ann", ("approver",), "approve", "t1"),
        inputs.Review("bob", ("admin",), "reject", "t2", "no"),
    ]
    document = inputs.approval_input(facts(), {"add": 1, "destroy": 2}, reviews)
    assert document["plan"] == {"add": 1, "change": 0, "destroy": 2}
    assert [a["user"] for a in document["reviews"]["approvals"]] == ["ann"]
    assert document["reviews"]["rejections"][0]["comment"] == "no"


def test_facts_of_a_run_row_carry_its_stack_repository_previous_run_and_trust() -> None:
    stack = Stack(
        id="acme/platform/db",
        name="db",
        path="db",
        labels=["prod"],
        autodeploy=False,
        worker_pool="default",
    )
    run = Run(
        id=7,
        kind="TRACKED",
        state="PLANNING",
        commit_sha="a" * 40,
        commit_author="dev1",
        commit_message="bump",
        branch="main",
        triggered_by="push:dev1",
    )
    before = Run(id=5, kind="PROPOSED", state="FINISHED", commit_sha="b" * 40)
    built = inputs.run_facts(run, stack, "acme/platform", previous=before, trusted=False)
    previous = {"id": 5, "kind": "PROPOSED", "state": "FINISHED", "commit": {"sha": "b" * 40}}
    assert built == facts(previous_run=previous, trusted=False)


def test_a_planned_run_is_run_zero_queued_and_trusted_without_a_previous_run() -> None:
    stack = Stack(id="acme/platform/db", name="db", path="db", labels=None)
    stack.autodeploy, stack.worker_pool = True, "big"
    planned = inputs.PlannedRun("TRACKED", "a" * 40, "dev1", "bump", "main", "push:dev1")
    built = inputs.run_facts(planned, stack, "acme/platform")
    expected = facts(run_id=0, state="QUEUED", labels=(), autodeploy=True, worker_pool="big")
    assert built == expected
    assert built.previous_run is None
    assert built.trusted is True
