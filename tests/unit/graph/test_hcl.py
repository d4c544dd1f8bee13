"""orchestrator/graph/hcl.py: HCL and .tf.json in, plain values or HclError out."""

from __future__ import annotations

from orchestrator.graph.hcl import HclError, parse

STACK_HCL = """\
stack {
  name        = "eks"
  labels      = ["prod", "aws"]
  autodeploy  = false
  depends_on  = ["../network"]
  worker_pool = "default"
}
"""


def test_stack_block_parses_to_a_list_of_bodies_with_plain_values() -> None:
    parsed = parse(STACK_HCL, "eks/stackrun.hcl")
    assert parsed == {
        "stack": [
            {
                "name": "eks",
                "labels": ["prod", "aws"],
                "autodeploy": False,
                "depends_on": ["../network"],
                "worker_pool": "default",
            }
        ]
    }


def test_backend_block_keeps_its_label_as_key() -> None:
    parsed = parse('terraform {\n  backend "s3" {\n    key = "net"\n  }\n}\n', "main.tf")
    assert parsed == {"terraform": [{"backend": [{"s3": {"key": "net"}}]}]}


def test_empty_file_parses_to_empty_dict() -> None:
    assert parse("", "empty.tf") == {}


def test_bad_hcl_returns_error_with_file_and_line_instead_of_raising() -> None:
    result = parse("stack {\n  name = \n}\n", "eks/stackrun.hcl")
    assert isinstance(result, HclError)
    assert result.file == "eks/stackrun.hcl"
    assert result.line == 2
    assert result.message


def test_unclosed_block_reports_the_file() -> None:
    result = parse('resource "null_resource" "x" {\n  triggers = {\n', "mod/main.tf")
    assert isinstance(result, HclError)
    assert result.file == "mod/main.tf"
    assert str(result).startswith("mod/main.tf")


def test_error_string_is_file_colon_line_colon_message() -> None:
    assert str(HclError("a/main.tf", 7, "boom")) == "a/main.tf:7: boom"
    assert str(HclError("a/main.tf", None, "boom")) == "a/main.tf: boom"


def test_tf_json_blocks_are_shaped_as_lists_like_parsed_hcl() -> None:
    text = '{"terraform": {"required_version": ">= 1.0"}, "locals": [{"a": 1}]}'
    assert parse(text, "main.tf.json") == {
        "terraform": [{"required_version": ">= 1.0"}],
        "locals": [{"a": 1}],
    }


def test_bad_tf_json_returns_error_with_line() -> None:
    result = parse('{\n  "terraform": {\n    "backend": \n}\n', "x/main.tf.json")
    assert isinstance(result, HclError)
    assert result.file == "x/main.tf.json"
    assert result.line == 4


def test_tf_json_that_is_not_an_object_is_an_error() -> None:
    result = parse("[1, 2]", "x/main.tf.json")
    assert isinstance(result, HclError)
    assert "JSON object" in result.message


def test_tf_json_with_a_huge_number_or_deep_nesting_is_an_error_naming_the_file() -> None:
    """json.loads raises ValueError past 4,300 digits and RecursionError when deep: data."""
    huge = parse('{"locals": {"x": ' + "9" * 5_000 + "}}", "x/main.tf.json")
    deep = parse('{"locals": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}", "x/main.tf.json")
    assert isinstance(huge, HclError) and huge.file == "x/main.tf.json"
    assert "digits" in huge.message
    assert isinstance(deep, HclError) and deep.message == "not read as JSON: nested too deeply"


def test_a_deeply_nested_expression_is_an_error_saying_so() -> None:
    result = parse("locals {\n  x = " + "[" * 2_000 + "1" + "]" * 2_000 + "\n}\n", "x/main.tf")
    assert isinstance(result, HclError) and result.file == "x/main.tf"
    assert result.message == "an expression is nested too deeply to parse"
