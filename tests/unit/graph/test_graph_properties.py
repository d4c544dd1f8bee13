"""Hypothesis over what the graph does with text it was never meant to see: the scanner gives
blocks with exact lines or a ScanError, a file's facts never raise, the static evaluator gives
a value or Unresolved, link resolution agrees with a real filesystem. Derandomized and bounded,
so the suite runs in seconds and the same way every time."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.graph.evaluate import Argument, Scope, Unresolved
from orchestrator.graph.facts import extract
from orchestrator.graph.scan import ScanError, top_blocks
from orchestrator.vcs.links import resolve

BOUNDED = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Pieces of HCL that move the scanner between its states, and some that do not.
TOKENS = [
    "resource",
    "module",
    "locals",
    "terraform",
    "data",
    '"a"',
    '"',
    "'",
    " ",
    "\t",
    "\n",
    "\r\n",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "=",
    "${",
    "%{",
    "$${",
    "%%{",
    "\\",
    '\\"',
    "#",
    "//",
    "/*",
    "*/",
    "/",
    "<<EOT\n",
    "<<-EOT\n",
    "EOT\n",
    "  EOT\n",
    "<",
    "x",
    "1",
    ",",
    'backend "s3"',
    "é",
    "\x00",
]
# Bodies that are well formed on their own, so that many texts hold several real blocks.
INNER = [
    "\n",
    " x = 1\n",
    ' s = "${var.a}-%{if true}}%{endif}"\n',
    " m = { a = [1, (2)] }\n",
    " h = <<EOT\n}\nEOT\n",
    "# c }\n",
    "/* } */",
    ' q = "}"\n',
    " d = 4 / 2\n",
]
block = st.tuples(
    st.sampled_from(["resource", "module", "locals", "data"]),
    st.lists(st.sampled_from(['"a"', "b", '"c d"']), max_size=2),
    st.lists(st.sampled_from(INNER), max_size=6),
).map(lambda parts: f"{parts[0]} {' '.join(parts[1])} {{{''.join(parts[2])}}}\n")
hcl_text = st.lists(
    st.one_of(block, st.sampled_from(TOKENS), st.sampled_from(["\n", "\n\n", "# x\n"])),
    max_size=30,
).map("".join)


@BOUNDED
@given(hcl_text)
def test_the_scanner_gives_exact_blocks_or_a_scan_error(text: str) -> None:
    try:
        blocks = top_blocks(text)
    except ScanError as error:
        assert 1 <= error.line <= text.count("\n") + 1
        return
    previous_end = 0
    for block in blocks:
        assert previous_end <= block.start < block.end <= len(text)
        assert block.line == text.count("\n", 0, block.start) + 1
        assert text.startswith(block.type, block.start)
        assert text[block.end - 1] == "}"
        previous_end = block.end


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    hcl_text, st.sampled_from(["s/main.tf", "s/stackrun.hcl", "s/terraform.tfvars", "s/a.tf.json"])
)
def test_the_facts_of_any_file_are_data_never_an_exception(text: str, path: str) -> None:
    facts = extract(path, text)
    assert isinstance(facts, dict)
    if "error" in facts:
        assert facts["error"]["file"] in (path, "block.tf")


def test_the_facts_of_a_tf_json_file_python_cannot_load_are_an_error_naming_it() -> None:
    """A number past Python's 4,300 digits (ValueError) and deep nesting (RecursionError)."""
    for text in ('{"locals": {"x": ' + "9" * 5_000 + "}}", "[" * 100_000 + "]" * 100_000):
        facts = extract("s/a.tf.json", text)
        assert facts["error"]["file"] == "s/a.tf.json"
        assert facts["error"]["message"].startswith("not read as JSON: ")


NAMES = ["a", "b", "c"]
fragment = st.one_of(
    st.sampled_from(NAMES).map(lambda n: "${local." + n + "}"),
    st.sampled_from(NAMES).map(lambda n: "${var." + n + "}"),
    st.sampled_from(["${path.module}", "${", "}", "${ local.a }", "${upper(var.a)}", "x", "/"]),
)
expression = st.lists(fragment, max_size=6).map("".join)
literal: st.SearchStrategy[Any] = st.one_of(
    expression, st.integers(), st.booleans(), st.none(), st.lists(expression, max_size=2)
)
variable_block = st.sampled_from(
    [
        'variable "%s" {\n  default = "${var.b}"\n}\n',
        'variable "%s" {}\n',
        'variable "%s" {\n  default = {\n',
        'variable "%s" {\n  default = ["x"]\n}\n',
    ]
)

local_block = st.sampled_from(
    [
        'locals {\n  a = "${local.b}"\n  b = "${var.c}/x"\n}\n',
        "locals {\n  c = [\n",
        "locals {}\n",
        'locals {\n  b = { x = "${local.a}" }\n}\n',
    ]
)


@st.composite
def scopes(draw: st.DrawFn) -> Scope:
    """A module instance whose var.a may come from its caller's scope."""
    parent = Scope(
        "parent",
        "parent/main.tf",
        variable_values=draw(st.dictionaries(st.sampled_from(NAMES), literal, max_size=3)),
        local_values=draw(st.dictionaries(st.sampled_from(NAMES), literal, max_size=3)),
    )
    arguments = {
        name: Argument(value, parent)
        for name, value in draw(
            st.dictionaries(st.sampled_from(NAMES), literal, max_size=2)
        ).items()
    }
    blocks = {name: draw(variable_block) % name for name in NAMES}
    return Scope(
        "child",
        "child/main.tf",
        variable_blocks=blocks,
        local_blocks=draw(st.lists(local_block, max_size=2)),
        variable_values=draw(st.dictionaries(st.sampled_from(NAMES), literal, max_size=2)),
        local_values=draw(st.dictionaries(st.sampled_from(NAMES), literal, max_size=3)),
        arguments=arguments,
        broken_values=draw(st.sampled_from([None, "child/terraform.tfvars"])),
    )


@BOUNDED
@given(scopes(), literal)
def test_static_evaluation_gives_a_value_or_unresolved(scope: Scope, value: Any) -> None:
    result = scope.evaluate(value)
    if isinstance(result, str):
        assert "${" not in result or "${" in value
    assert scope.evaluate(value) == result or isinstance(result, Unresolved)


PARTS = ["a", "b", "..", ".", "/x", "a/b", "b/.."]
tree_paths = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map("/".join)
link_target = st.lists(st.sampled_from(PARTS), min_size=1, max_size=3).map("/".join)


@BOUNDED
@given(
    st.lists(tree_paths, max_size=4, unique=True),
    st.dictionaries(tree_paths, link_target, max_size=4),
)
def test_link_resolution_agrees_with_a_real_filesystem(
    files: list[str], links: dict[str, str]
) -> None:
    """Build the tree on disk (as far as it can exist: a path cannot be both a file and a
    folder) and compare each verdict with what the kernel resolves."""
    with tempfile.TemporaryDirectory() as workdir:
        root = Path(workdir) / "repo"
        root.mkdir()
        made_files, made_links = _materialise(root, files, links)
        found = resolve(made_files, made_links)
        real_root = os.path.realpath(root)
        for link, end in {**found.files, **found.folders, **found.dangling}.items():
            target = os.path.realpath(root / link)
            assert target == os.path.normpath(os.path.join(real_root, end)), link
        for link, problem in found.problems.items():
            if "loop" in problem.reason:
                continue
            target = os.path.realpath(root / link)
            assert os.path.commonpath([real_root, target]) != real_root, link


def _materialise(
    root: Path, files: list[str], links: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    made_files: list[str] = []
    made_links: dict[str, str] = {}
    for path in files:
        try:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text("x")
            made_files.append(path)
        except OSError:
            continue
    for path, target in sorted(links.items()):
        full = root / path
        if os.path.lexists(full) or not _plain_parents(root, path):
            continue
        full.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, full)
        made_links[path] = target
    return made_files, made_links


def _plain_parents(root: Path, path: str) -> bool:
    """Every folder above `path` is a real folder or absent (never a file or a link)."""
    folder = root
    for part in path.split("/")[:-1]:
        folder = folder / part
        if os.path.islink(folder) or folder.is_file():
            return False
    return True
