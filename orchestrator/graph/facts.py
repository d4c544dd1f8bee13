"""What the graph needs from one file, extracted once per git blob and cached as JSON.

Only the blocks that can create edges are parsed: terraform (backend), data
"terraform_remote_state", module calls, and stackrun.hcl's stack block. Variable and locals
blocks are kept as raw text and parsed only when an expression refers to them."""

from __future__ import annotations

import copy
import json
import posixpath
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from orchestrator.graph import hcl
from orchestrator.graph.scan import ScanError, TopBlock, top_blocks

FACTS_VERSION = 2
STACK_FILE = "stackrun.hcl"
Facts = dict[str, Any]


@lru_cache(maxsize=1 << 16)
def file_kind(path: str) -> str | None:
    """Which files the graph reads: Terraform, tfvars, backend files and stack files."""
    name = posixpath.basename(path)
    if name == STACK_FILE:
        return "stack"
    if name.endswith(".tf.json"):
        return "tf_json"
    if name.endswith(".tf"):
        return "tf"
    if name == "terraform.tfvars" or name.endswith(".auto.tfvars"):
        return "tfvars"
    if name.endswith(".tfvars"):
        return "var_file"  # read by Terraform only when named: an environment's -var-file
    if name.endswith(".backend") or name.endswith(".tfbackend"):
        return "backend_config"
    return None


def extract(path: str, text: str) -> Facts:
    """The facts of one file; parse failures become an `error` entry, never an exception
    (but hcl.BudgetSpent when the caller's time budget runs out). The caller bounds the size
    of `text` (graph/limits.py)."""
    kind = file_kind(path)
    if kind == "tf_json":
        return _from_json(path, text)
    if kind == "tfvars":
        return _from_tfvars(path, text)
    if kind == "var_file":
        values = _from_tfvars(path, text)
        return {"var_values": values["tfvars"]} if "tfvars" in values else values
    if kind == "backend_config":
        return _from_backend_file(path, text)
    try:
        blocks = top_blocks(text)
    except ScanError as exc:
        return _scan_failed(path, text, kind, exc)
    if kind == "stack":
        return _from_stack_file(path, text, blocks)
    return _from_tf(path, text, blocks)


def _scan_failed(path: str, text: str, kind: str | None, exc: ScanError) -> Facts:
    """The scanner gave up: the parser's own error is the precise one, and when the parser
    reads the file after all, its full result is used."""
    parsed = hcl.parse(text, path, max_bytes=None)
    if isinstance(parsed, hcl.HclError):
        return (
            _error(parsed)
            if parsed.line
            else {"error": {"file": path, "line": exc.line, "message": str(exc)}}
        )
    if kind == "stack":
        bodies = parsed.get("stack") or [None]
        return {"stack": bodies[0] if isinstance(bodies, list) else bodies, "line": 1}
    facts = _empty_tf_facts()
    _collect(facts, parsed, 1)
    return facts


def _empty_tf_facts() -> Facts:
    return {"remote_states": [], "modules": [], "variables": {}, "locals": []}


def _error(failure: hcl.HclError) -> Facts:
    return {"error": {"file": failure.file, "line": failure.line, "message": failure.message}}


def _parse_block(path: str, text: str, block: TopBlock) -> dict[str, Any] | hcl.HclError:
    """Parse one block's text alone (memoised: a push mostly leaves a file's blocks as they
    were); line numbers are shifted back to the file's."""
    parsed = _parse_block_text(text[block.start : block.end] + "\n")
    if isinstance(parsed, hcl.HclError):
        line = parsed.line + block.line - 1 if parsed.line else block.line
        return hcl.HclError(path, line, parsed.message)
    return copy.deepcopy(parsed)


ParsedBlock = dict[str, Any] | hcl.HclError
_BLOCKS: OrderedDict[str, ParsedBlock] = OrderedDict()  # block text → parsed, most recent last
_BLOCKS_KEPT = 50_000
_RECORDING: list[list[tuple[str, ParsedBlock]]] = []  # blocks parsed while a recording is open


def _parse_block_text(snippet: str) -> ParsedBlock:
    found = _BLOCKS.get(snippet)
    if found is not None:
        _BLOCKS.move_to_end(snippet)
        return found
    parsed = hcl.parse(snippet, "block.tf", max_bytes=None)
    remember_blocks([(snippet, parsed)])
    for recording in _RECORDING:
        recording.append((snippet, parsed))
    return parsed


def remember_blocks(entries: list[tuple[str, ParsedBlock]]) -> None:
    """Blocks parsed elsewhere (a process of a parallel parse, graph/parallel.py): the next
    push that changes one line of their file reparses only that line's block."""
    for snippet, parsed in entries:
        _BLOCKS[snippet] = parsed
        _BLOCKS.move_to_end(snippet)
    while len(_BLOCKS) > _BLOCKS_KEPT:
        _BLOCKS.popitem(last=False)


@contextmanager
def recording_blocks() -> Iterator[list[tuple[str, ParsedBlock]]]:
    """The blocks parsed (not found in the memo) inside, in order."""
    recorded: list[tuple[str, ParsedBlock]] = []
    _RECORDING.append(recorded)
    try:
        yield recorded
    finally:
        _RECORDING.remove(recorded)


def forget_blocks() -> None:
    _BLOCKS.clear()


def _from_tf(path: str, text: str, blocks: list[TopBlock]) -> Facts:
    """A block that fails to parse is reported; the file's other blocks still count."""
    facts = _empty_tf_facts()
    for block in blocks:
        if block.type == "variable" and block.labels:
            facts["variables"][block.labels[0]] = text[block.start : block.end]
        elif block.type == "locals":
            facts["locals"].append(text[block.start : block.end])
        elif _wanted(block):
            parsed = _parse_block(path, text, block)
            if isinstance(parsed, hcl.HclError):
                facts.setdefault("error", _error(parsed)["error"])
                continue
            _collect(facts, parsed, block.line)
    return facts


def _wanted(block: TopBlock) -> bool:
    if block.type in ("terraform", "module"):
        return True
    return block.type == "data" and block.labels[:1] == ("terraform_remote_state",)


def _collect(facts: Facts, parsed: dict[str, Any], line: int) -> None:
    for terraform in parsed.get("terraform") or []:
        backends = terraform.get("backend") or []
        for backend in [backends] if isinstance(backends, dict) else backends:
            for backend_type, config in backend.items():
                facts["backend"] = {"type": backend_type, "config": config or {}, "line": line}
    for data in parsed.get("data") or []:
        for name, body in (data.get("terraform_remote_state") or {}).items():
            facts["remote_states"].append(
                {
                    "name": name,
                    "backend": body.get("backend"),
                    "config": body.get("config") or {},
                    "line": line,
                }
            )
    for module in parsed.get("module") or []:
        for name, body in module.items():
            args = {k: v for k, v in body.items() if k not in ("source", "version", "providers")}
            facts["modules"].append(
                {"name": name, "source": body.get("source"), "args": args, "line": line}
            )


def _from_stack_file(path: str, text: str, blocks: list[TopBlock]) -> Facts:
    stack_blocks = [b for b in blocks if b.type == "stack"]
    if not stack_blocks:
        return {"stack": None}
    parsed = _parse_block(path, text, stack_blocks[0])
    if isinstance(parsed, hcl.HclError):
        return _error(parsed)
    bodies = parsed.get("stack") or [{}]
    return {
        "stack": bodies[0] if isinstance(bodies, list) else bodies,
        "line": stack_blocks[0].line,
    }


def _from_tfvars(path: str, text: str) -> Facts:
    parsed = hcl.parse(text, path, max_bytes=None)
    if isinstance(parsed, hcl.HclError):
        return _error(parsed)
    return {"tfvars": dict(parsed)}


def _from_backend_file(path: str, text: str) -> Facts:
    """A `-backend-config` file: the settings it completes a partial backend with."""
    parsed = hcl.parse(text, path, max_bytes=None)
    if isinstance(parsed, hcl.HclError):
        return _error(parsed)
    return {"backend_config": dict(parsed)}


def _from_json(path: str, text: str) -> Facts:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return {"error": {"file": path, "line": exc.lineno, "message": exc.msg}}
    except ValueError as exc:  # a number past Python's digit limit
        return {"error": {"file": path, "line": None, "message": f"not read as JSON: {exc}"}}
    except RecursionError:
        return {
            "error": {"file": path, "line": None, "message": "not read as JSON: nested too deeply"}
        }
    if not isinstance(document, dict):
        return {"error": {"file": path, "line": 1, "message": "a .tf.json file holds an object"}}
    facts: Facts = {
        "remote_states": [],
        "modules": [],
        "variables": {},
        "locals": [],
        "json_variables": {},
        "json_locals": {},
    }
    shaped = {key: value if isinstance(value, list) else [value] for key, value in document.items()}
    _collect(facts, shaped, 1)
    for variables in shaped.get("variable") or []:
        for name, body in (variables or {}).items():
            if isinstance(body, dict) and "default" in body:
                facts["json_variables"][name] = body["default"]
            else:
                facts["variables"][name] = f'variable "{name}" {{}}'

    for local_values in shaped.get("locals") or []:
        facts["json_locals"].update(local_values or {})
    return facts
