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


def _dot(document: dict[str, Any]) -> str:
    lines = ["digraph stacks {", "  rankdir=LR;", "  node [shape=box];"]
    for stack in document["stacks"]:
        lines.append(f"  {json.dumps(stack['path'])} [label={json.dumps(stack['name'])}];")
    for edge in document["edges"]:
        style = "solid" if edge["kind"] == "data" else "dashed"
        lines.append(f"  {json.dumps(edge['from'])} -> {json.dumps(edge['to'])} [style={style}];")
    lines.append("}")
    return "\n".join(lines)


def _mermaid(document: dict[str, Any]) -> str:
    ids = {stack["path"]: f"s{i}" for i, stack in enumerate(document["stacks"])}
    lines = ["graph LR"]
    for stack in document["stacks"]:
        label = stack["name"].replace('"', "'")
        lines.append(f'  {ids[stack["path"]]}["{label}"]')
    for edge in document["edges"]:
        arrow = "-->" if edge["kind"] == "data" else "-.->"
        lines.append(f"  {ids[edge['from']]} {arrow} {ids[edge['to']]}")
    return "\n".join(lines)
