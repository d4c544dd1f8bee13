"""The top-level block scanner: it must never mistake a brace in a string, a template, a
heredoc or a comment for the end of a block."""

from __future__ import annotations

import re

import pytest

from orchestrator.graph.scan import ScanError, top_blocks

TRICKY = """
# a comment with { and "
terraform {
  backend "s3" {
    bucket = "b" // }
    key    = "x/${var.env}/${lookup(var.m, "k}")}"
  }
}
/* a block comment
   { with braces */
resource "aws_instance" "web" {
  user_data = <<-EOT
    echo "}}}" {
    ${jsonencode({ a = "}" })}
  EOT
  tags = merge(var.tags, { Name = "x}" })
  dynamic "ebs" {
    for_each = [for x in var.l : x if x != "}"]
    content { size = 1 }
  }
  escaped = "a \\" } b"
}
data terraform_remote_state "vpc" {
  backend = "s3"
}
locals { a = "${var.x}" }
"""


def test_blocks_come_out_with_type_labels_and_line() -> None:
    blocks = top_blocks(TRICKY)
    assert [(b.type, b.labels, b.line) for b in blocks] == [
        ("terraform", (), 3),
        ("resource", ("aws_instance", "web"), 11),
        ("data", ("terraform_remote_state", "vpc"), 23),
        ("locals", (), 26),
    ]


def test_each_block_text_is_exactly_the_block() -> None:
    for block in top_blocks(TRICKY):
        text = TRICKY[block.start : block.end]
        assert text.startswith(block.type)
        assert text.endswith("}")


def test_top_level_attributes_of_tfvars_are_skipped() -> None:
    text = 'env = "prod"\nsizes = {\n  a = 1\n}\nlist = [\n  "}",\n]\nmodule "m" {}\n'
    assert [(b.type, b.labels) for b in top_blocks(text)] == [("module", ("m",))]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('resource "a" "b" {\n  x = 1\n', "missing '}'", 1),
        ('resource "a" "b" {\n  x = "open\n}\n', "unterminated string", 2),
        ("locals {\n  a = <<EOT\n  text\n}\n", "heredoc <<EOT is never closed", 2),
        ("/* never closed\n", "unterminated /* comment", 1),
        ("locals {\n  a = 1 ]\n}\n", "unexpected ']'", 2),
    ],
)
def test_broken_files_raise_with_the_line(text: str, message: str, line: int) -> None:
    with pytest.raises(ScanError, match=re.escape(message)) as failure:
        top_blocks(text)
    assert failure.value.line == line
