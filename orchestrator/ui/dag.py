"""A DAG drawn as SVG, laid out server-side: networkx's topological generations are the
layers (left to right), each layer's nodes stacked in order. Pure: ids in, positions out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

NODE_W = 200
NODE_H = 44
GAP_X = 70
GAP_Y = 22
PAD = 12


@dataclass(frozen=True)
class Box:
    key: str
    label: str
    state: str
    href: str
    x: int
    y: int
    note: str = ""


@dataclass(frozen=True)
class Line:
    path: str
    source: str
    target: str


@dataclass(frozen=True)
class Drawing:
    boxes: tuple[Box, ...]
    lines: tuple[Line, ...]
    width: int
    height: int


@dataclass(frozen=True)
class Node:
    key: str
    label: str
    state: str = ""
    href: str = ""
    note: str = ""


def _layers(keys: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Topological generations; a graph with a cycle (a standing conflict) falls back to
    one layer per strongly connected component's condensation generation."""
    graph = nx.DiGraph()
    graph.add_nodes_from(keys)
    graph.add_edges_from(e for e in edges if e[0] in graph and e[1] in graph)
    order = {key: index for index, key in enumerate(keys)}
    if nx.is_directed_acyclic_graph(graph):
        generations = [list(g) for g in nx.topological_generations(graph)]
    else:
        condensed = nx.condensation(graph)
        members = condensed.graph["mapping"]
        generations = [
            [k for k in keys if members[k] in set(gen)]
            for gen in nx.topological_generations(condensed)
        ]
    return [sorted(layer, key=lambda k: order[str(k)]) for layer in generations]


def layout(nodes: Sequence[Node], edges: Sequence[tuple[str, str]]) -> Drawing:
    """Positions for each node and an S-curve for each edge (source's right side to
    target's left side)."""
    by_key = {n.key: n for n in nodes}
    layers = _layers([n.key for n in nodes], edges)
    boxes: dict[str, Box] = {}
    for column, layer in enumerate(layers):
        for row, key in enumerate(layer):
            node = by_key[key]
            x = PAD + column * (NODE_W + GAP_X)
            y = PAD + row * (NODE_H + GAP_Y)
            boxes[key] = Box(node.key, node.label, node.state, node.href, x, y, node.note)
    lines = tuple(_line(boxes[a], boxes[b]) for a, b in edges if a in boxes and b in boxes)
    tallest = max((len(layer) for layer in layers), default=0)
    width = PAD * 2 + max(len(layers), 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(tallest, 1) * (NODE_H + GAP_Y) - GAP_Y
    return Drawing(tuple(boxes.values()), lines, width, height)


def _line(source: Box, target: Box) -> Line:
    x1, y1 = source.x + NODE_W, source.y + NODE_H // 2
    x2, y2 = target.x, target.y + NODE_H // 2
    if x2 <= x1:  # same layer (a cycle): loop around the right side
        x2, y2 = target.x + NODE_W, target.y + NODE_H // 2
        bend = x1 + GAP_X // 2
        return Line(f"M{x1},{y1} C{bend},{y1} {bend},{y2} {x2},{y2}", source.key, target.key)
    middle = (x1 + x2) // 2
    return Line(f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}", source.key, target.key)
