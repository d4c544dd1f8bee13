"""Plan summaries from `terraform show -json` (orchestrator/plans.py)."""

from __future__ import annotations

from typing import Any

from orchestrator import plans
from orchestrator.plans import has_changes, resource_changes, summarize


def _rc(
    address: str,
    actions: list[str],
    *,
    mode: str = "managed",
    before: Any = None,
    after: Any = None,
) -> dict[str, Any]:
    """One `resource_changes` entry shaped like Terraform 1.x writes it."""
    rtype, name = address.split(".")[-2:]
    return {
        "address": address,
        "mode": mode,
        "type": rtype,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/null",
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": {"id": True} if "create" in actions else {},
            "before_sensitive": False if before is None else {},
            "after_sensitive": False if after is None else {},
        },
    }


def _plan(*changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "format_version": "0.2",
        "terraform_version": "1.0.3",
        "planned_values": {"root_module": {}},
        "resource_changes": list(changes),
        "configuration": {"root_module": {}},
    }


CREATE = _rc("null_resource.new", ["create"], after={"triggers": {"v": "1"}})
UPDATE = _rc(
    "aws_instance.web", ["update"], before={"instance_type": "t3.micro"}, after={"x": "t3.small"}
)
DELETE = _rc("null_resource.old", ["delete"], before={"id": "123", "triggers": None})
REPLACE_DELETE_FIRST = _rc("null_resource.rebuilt", ["delete", "create"], before={}, after={})
REPLACE_CREATE_FIRST = _rc("aws_lb.front", ["create", "delete"], before={}, after={})
NOOP = _rc("null_resource.same", ["no-op"], before={"id": "1"}, after={"id": "1"})
READ = _rc("data.aws_caller_identity.me", ["read"], mode="data", after={})


def test_empty_plan_has_no_changes() -> None:
    plan = _plan()
    assert resource_changes(plan) == []
    assert summarize(plan) == {"add": 0, "change": 0, "destroy": 0}
    assert not has_changes(summarize(plan))


def test_plan_without_resource_changes_key_or_with_null_is_empty() -> None:
    assert summarize({"format_version": "0.2"}) == {"add": 0, "change": 0, "destroy": 0}
    assert resource_changes({"resource_changes": None}) == []


def test_create_counts_as_one_add() -> None:
    assert summarize(_plan(CREATE)) == {"add": 1, "change": 0, "destroy": 0}


def test_update_counts_as_one_change() -> None:
    assert summarize(_plan(UPDATE)) == {"add": 0, "change": 1, "destroy": 0}


def test_delete_counts_as_one_destroy() -> None:
    assert summarize(_plan(DELETE)) == {"add": 0, "change": 0, "destroy": 1}


def test_replace_delete_then_create_adds_one_and_destroys_one() -> None:
    assert summarize(_plan(REPLACE_DELETE_FIRST)) == {"add": 1, "change": 0, "destroy": 1}


def test_replace_create_before_destroy_adds_one_and_destroys_one() -> None:
    assert summarize(_plan(REPLACE_CREATE_FIRST)) == {"add": 1, "change": 0, "destroy": 1}


def test_no_op_and_read_are_neither_counted_nor_listed() -> None:
    plan = _plan(NOOP, READ)
    assert resource_changes(plan) == []
    assert summarize(plan) == {"add": 0, "change": 0, "destroy": 0}
    assert not has_changes(summarize(plan))


def test_mixed_plan_counts_like_terraform_plan_line() -> None:
    # Terraform would print "Plan: 3 to add, 1 to change, 3 to destroy."
    plan = _plan(CREATE, UPDATE, DELETE, REPLACE_DELETE_FIRST, REPLACE_CREATE_FIRST, NOOP, READ)
    assert summarize(plan) == {"add": 3, "change": 1, "destroy": 3}
    assert has_changes(summarize(plan))


def test_resource_changes_lists_address_type_and_actions_in_plan_order() -> None:
    plan = _plan(NOOP, CREATE, READ, UPDATE, REPLACE_CREATE_FIRST)
    assert resource_changes(plan) == [
        {"address": "null_resource.new", "type": "null_resource", "actions": ["create"]},
        {"address": "aws_instance.web", "type": "aws_instance", "actions": ["update"]},
        {"address": "aws_lb.front", "type": "aws_lb", "actions": ["create", "delete"]},
    ]


def test_resource_changes_keeps_module_addresses() -> None:
    nested = _rc("module.vpc.aws_vpc.this", ["create"], after={})
    nested["module_address"] = "module.vpc"
    assert resource_changes(_plan(nested)) == [
        {"address": "module.vpc.aws_vpc.this", "type": "aws_vpc", "actions": ["create"]}
    ]


def test_entry_with_missing_change_block_is_ignored() -> None:
    broken = {"address": "null_resource.x", "type": "null_resource", "change": None}
    assert resource_changes(_plan(broken)) == []


def test_has_changes_is_true_when_any_count_is_positive() -> None:
    assert has_changes({"add": 0, "change": 0, "destroy": 1})
    assert has_changes({"add": 0, "change": 2, "destroy": 0})
    assert not has_changes({"add": 0, "change": 0, "destroy": 0})


def test_changed_outputs_lists_outputs_that_the_apply_would_change() -> None:
    plan = {
        "output_changes": {
            "vpc_id": {"actions": ["create"]},
            "same": {"actions": ["no-op"]},
            "renamed": {"actions": ["update"]},
            "gone": {"actions": ["delete"]},
        }
    }
    assert plans.changed_outputs(plan) == ["gone", "renamed", "vpc_id"]
    assert plans.changed_outputs({}) == []
