"""The linking of a build, reused stack by stack from an earlier build (DESIGN §3, "Speed"). A
stack's edges, unresolved reads, local reads and inputs depend only on its own analysis and on
what every stack offers to be read: its address, the state it writes, its name, environment,
folder and whether stackrun keeps its state. A push that changes no backend leaves all of that
as it was, so only the stacks whose analysis changed are linked again. Pure."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.graph.analysis import Analysis
from orchestrator.graph.edges import Linker
from orchestrator.graph.model import Edge, StackNode

Offer = tuple[str, tuple[str, ...] | None, str, str | None, str, bool]


@dataclass(frozen=True)
class Linked:
    """What linking one stack produced; `analysis` is held so its identity stays its own."""

    analysis: Analysis
    edges: tuple[Edge, ...]
    unresolved: tuple[dict[str, Any], ...]
    local_reads: tuple[dict[str, str], ...]
    inputs: tuple[dict[str, str], ...]


_MEMO: OrderedDict[tuple[Offer, ...], dict[str, Linked]] = OrderedDict()
_KEPT = 8  # offers of recent repositories (a worker builds graphs of several)


def offers(stacks: Mapping[str, StackNode]) -> tuple[Offer, ...]:
    """Everything of every stack that another stack's linking may look at."""
    return tuple(
        (address, node.identity, node.name, node.environment, node.path, node.managed_state)
        for address, node in sorted(stacks.items())
    )


def link(stacks: Mapping[str, StackNode], analyses: Mapping[str, Analysis]) -> Linker:
    """Every stack linked in address order: a stack whose analysis is the very one the last
    build with the same offers linked gets that build's results, the others are linked anew."""
    key = offers(stacks)
    earlier = _MEMO.get(key, {})
    linker = Linker(stacks)
    now: dict[str, Linked] = {}
    for address in sorted(analyses):
        found, node = analyses[address], stacks[address]
        kept = earlier.get(address)
        if kept is None or kept.analysis is not found:
            kept = _linked(linker, address, found, node)
        else:
            linker.edges.extend(kept.edges)
            linker.unresolved.extend(kept.unresolved)
        node.local_reads = list(kept.local_reads)
        node.inputs = list(kept.inputs)
        now[address] = kept
    _MEMO[key] = now
    _MEMO.move_to_end(key)
    while len(_MEMO) > _KEPT:
        _MEMO.popitem(last=False)
    return linker


def forget() -> None:
    _MEMO.clear()


def _linked(linker: Linker, address: str, found: Analysis, node: StackNode) -> Linked:
    edges_before, unresolved_before = len(linker.edges), len(linker.unresolved)
    node.local_reads = []
    for ref in found.refs:
        linker.connect(address, ref)
    linker.declared_edges(node)
    return Linked(
        found,
        tuple(linker.edges[edges_before:]),
        tuple(linker.unresolved[unresolved_before:]),
        tuple(node.local_reads),
        tuple(node.inputs),
    )
