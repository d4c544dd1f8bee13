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


def _naive_line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def test_line_numbers_of_many_blocks_match_a_count_from_the_start() -> None:
    """Lines are counted forward from block to block; every one must still be exact."""
    pieces = []
    for n in range(300):
        pieces.append(f'resource "a" "r{n}" {{\n  x = "{"}" * (n % 3)}"\n}}\n')
        pieces.append("\n" * (n % 4) + f"# comment {n}\n")
        pieces.append(f"locals {{ v{n} = <<EOT\n  {n}\n  }}\nEOT\n}}\n")
    text = "".join(pieces)
    blocks = top_blocks(text)
    assert len(blocks) == 600
    assert [b.line for b in blocks] == [_naive_line(text, b.start) for b in blocks]


def test_escaped_template_sequences_are_literal_text() -> None:
    text = 'locals {\n  a = "$${not"\n  b = "%%{ nor"\n}\nmodule "m" {}\n'
    assert [(b.type, b.line) for b in top_blocks(text)] == [("locals", 1), ("module", 5)]


def test_a_heredoc_in_a_crlf_file_ends_at_its_marker() -> None:
    text = 'locals {\r\n  a = <<EOT\r\n  }\r\nEOT\r\n}\r\nmodule "m" {}\r\n'
    assert [b.type for b in top_blocks(text)] == ["locals", "module"]


def test_deep_nesting_is_scanned_without_recursion() -> None:
    """Thousands of nested templates and brackets: a result or a ScanError, never a
    RecursionError."""
    depth = 20_000
    nested = "locals {\n  a = " + '"${' * depth + "1" + '}"' * depth + "\n}\n"
    assert [b.type for b in top_blocks(nested)] == ["locals"]
    brackets = "locals {\n  a = " + "[" * depth + "]" * (depth - 1) + "\n}\n"
    with pytest.raises(ScanError, match=re.escape("unexpected '}'")):
        top_blocks(brackets)


def test_an_unterminated_label_does_not_run_across_lines() -> None:
    with pytest.raises(ScanError, match="expected a block or an attribute") as failure:
        top_blocks('module "open {\n}\n"\n')
    assert failure.value.line == 1
