"""Static evaluation of the functions and templates real state keys use: evaluated where the
arguments are known, partly unknown (a pattern) where a deploy-time value takes part, and
reasons that keep the whole expression."""

from __future__ import annotations

import pytest

from orchestrator.graph.evaluate import Partial, Scope, Unresolved
from orchestrator.graph.values import shorten

NO_VALUE = "var.stackname has no default and no value in tfvars"


def scope() -> Scope:
    return Scope(
        "projects/app",
        "projects/app/main.tf",
        variable_blocks={"stackname": 'variable "stackname" {}'},
        variable_values={
            "override": "",
            "env": "prod",
            "stacks": ["network", "dns"],
            "keys": {"network": "network.tfstate"},
        },
    )


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("${coalesce(var.override, var.env)}/vpc.tfstate", "prod/vpc.tfstate"),
        ('${format("%s/%s.tfstate", var.env, "dns")}', "prod/dns.tfstate"),
        ('${format("%03d-%%", 7)}', "007-%"),
        ('${join("/", var.stacks)}', "network/dns"),
        ('${lookup(var.keys, "network")}', "network.tfstate"),
        ('${lookup(var.keys, "dns", "dns.tfstate")}', "dns.tfstate"),
        ("${element(var.stacks, 3)}", "dns"),
        ('${replace("prod-eu", "-", "/")}', "prod/eu"),
        ('${replace("prod-eu-1", "/-[0-9]$/", "")}', "prod-eu"),
        ('${lower("PROD")}-${upper(var.env)}', "prod-PROD"),
        ('${trimsuffix("network.tfstate", ".tfstate")}', "network"),
        ('${var.env == "prod" ? "live" : "test"}', "live"),
        ('${var.env != "prod" ? "test" : "live"}', "live"),
        ("${terraform.workspace}.tfstate", "default.tfstate"),
        ('${join("/", list(var.env, "x"))}', "prod/x"),
        ('${lookup(map("prod", "eu-west-1"), var.env)}', "eu-west-1"),
        ('${"${var.env}-nested"}', "prod-nested"),
        ("$${not.interpolated}", "${not.interpolated}"),
        ("${var.keys.network}", "network.tfstate"),
        ('${var.keys["network"]}', "network.tfstate"),
    ],
)
def test_functions_are_evaluated_where_the_arguments_are_known(expression: str, value: str) -> None:
    assert scope().evaluate(expression) == value


@pytest.mark.parametrize(
    ("expression", "pattern"),
    [
        ("${coalesce(var.override, var.stackname)}/infra-vpc.tfstate", "*/infra-vpc.tfstate"),
        ("${var.stackname}/infra-vpc.tfstate", "*/infra-vpc.tfstate"),
        ('${format("%s/%s.tfstate", var.env, var.stackname)}', "prod/*.tfstate"),
        ('${upper("a-${var.stackname}")}', "A-*"),
        ('${join("/", list(var.env, var.stackname))}', "prod/*"),
        ("${data.terraform_remote_state.x.outputs.name}/k", "*/k"),
    ],
)
def test_an_unknown_argument_leaves_the_known_parts_as_a_pattern(
    expression: str, pattern: str
) -> None:
    value = scope().evaluate(expression)
    assert isinstance(value, Partial)
    assert value.pattern == pattern


def test_coalesce_with_an_unknown_argument_first_is_unknown() -> None:
    assert scope().evaluate("${coalesce(var.stackname, var.env)}") == Unresolved(NO_VALUE, True)


def test_coalesce_of_empty_values_only_is_a_deploy_time_value() -> None:
    value = scope().evaluate("${coalesce(var.override, var.override)}/vpc.tfstate")
    assert isinstance(value, Partial)
    assert value.pattern == "*/vpc.tfstate"


def test_a_conditional_on_an_unknown_value_is_unknown_unless_both_branches_agree() -> None:
    assert scope().evaluate('${var.stackname == "a" ? "x" : "y"}') == Unresolved(NO_VALUE, True)
    assert scope().evaluate('${var.stackname == "a" ? "x" : "x"}') == "x"


def test_an_unknown_function_keeps_the_whole_expression_in_the_reason() -> None:
    expression = 'merge(local.base, {key = "network/terraform.tfstate", region = "eu-west-1"})'
    value = scope().evaluate("${" + expression + "}")
    assert value == Unresolved(
        "${" + expression + "} cannot be evaluated statically: stackrun does not evaluate merge()"
    )


def test_an_error_inside_a_template_is_not_made_a_pattern() -> None:
    value = scope().evaluate("${merge(var.keys)}/network.tfstate")
    assert isinstance(value, Unresolved)
    assert not value.deploy_time


def test_a_long_expression_is_shortened_only_at_a_whole_token() -> None:
    names = ", ".join(f"var.remote_state_key_number_{n}" for n in range(12))
    shown = shorten(f"coalesce({names})")
    assert len(shown) <= 202
    assert shown.endswith(" …")
    kept = shown.removesuffix(" …").rstrip(",")
    assert kept.split(", ")[-1] in {f"var.remote_state_key_number_{n}" for n in range(12)}
    assert shorten("coalesce(var.a, var.b)") == "coalesce(var.a, var.b)"
