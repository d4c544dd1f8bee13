"""The graph as JSON, Graphviz dot or Mermaid."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.graph.model import Graph

FORMATS = ("json", "dot", "mermaid")


def render(graph: Graph, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(graph.to_json(), indent=2, sort_keys=False)
    if fmt == "dot":
        return _dot(graph.to_json())
    if fmt == "mermaid":
        return _mermaid(graph.to_json())
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def _pairs(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(from, to, kind) once per pair of stacks, however many reads or inputs make the edge:
    "data" when any of them is a data edge, "order" otherwise."""
    kinds: dict[tuple[str, str], set[str]] = {}
    for edge in document["edges"]:
        kinds.setdefault((edge["from"], edge["to"]), set()).add(edge["kind"])
    return [
        (upstream, downstream, "data" if "data" in found else "order")
        for (upstream, downstream), found in kinds.items()
    ]


def _dot(document: dict[str, Any]) -> str:
    lines = ["digraph stacks {", "  rankdir=LR;", "  node [shape=box];"]
    for stack in document["stacks"]:
        lines.append(f"  {json.dumps(_key(stack))} [label={json.dumps(stack['name'])}];")
    for upstream, downstream, kind in _pairs(document):
        style = "solid" if kind == "data" else "dashed"
        lines.append(f"  {json.dumps(upstream)} -> {json.dumps(downstream)} [style={style}];")
    lines.append("}")
    return "\n".join(lines)


def _mermaid(document: dict[str, Any]) -> str:
    ids = {_key(stack): f"s{i}" for i, stack in enumerate(document["stacks"])}
    lines = ["graph LR"]
    for stack in document["stacks"]:
        label = stack["name"].replace('"', "'")
        lines.append(f'  {ids[_key(stack)]}["{label}"]')
    for upstream, downstream, kind in _pairs(document):
        arrow = "-->" if kind == "data" else "-.->"
        lines.append(f"  {ids[upstream]} {arrow} {ids[downstream]}")
    return "\n".join(lines)


def _key(stack: dict[str, Any]) -> str:
    """The stack's key in the edges: its address (`path@environment` for an instance)."""
    return str(stack.get("address") or stack["path"])
