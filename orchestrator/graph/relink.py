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

    def same_links(self, other: Linked) -> bool:
        return (self.edges, self.unresolved, self.local_reads, self.inputs) == (
            other.edges,
            other.unresolved,
            other.local_reads,
            other.inputs,
        )


@dataclass(frozen=True)
class Findings:
    """What a build found in its links as a whole: cycles (errors and warnings) and states
    written twice; the same for the same links and offers."""

    cycle_errors: list[dict[str, Any]]
    cycle_warnings: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]


@dataclass
class Linking:
    """The links of a build, and its findings when an earlier build had the very same."""

    key: tuple[Offer, ...]
    edges: list[Edge]
    unresolved: list[dict[str, Any]]
    findings: Findings | None


@dataclass
class _Entry:
    linked: dict[str, Linked]
    findings: Findings | None = None


_MEMO: OrderedDict[tuple[Offer, ...], _Entry] = OrderedDict()
_KEPT = 8  # offers of recent repositories (a worker builds graphs of several)


def offers(stacks: Mapping[str, StackNode]) -> tuple[Offer, ...]:
    """Everything of every stack that another stack's linking may look at."""
    return tuple(
        (address, node.identity, node.name, node.environment, node.path, node.managed_state)
        for address, node in sorted(stacks.items())
    )


def link(stacks: Mapping[str, StackNode], analyses: Mapping[str, Analysis]) -> Linking:
    """Every stack linked in address order: a stack whose analysis is the very one the last
    build with the same offers linked gets that build's results, the others are linked anew."""
    key = offers(stacks)
    entry = _MEMO.get(key)
    earlier = entry.linked if entry is not None else {}
    same = entry is not None  # every stack's links as that build's (the offers name them all)
    linker: Linker | None = None
    linking = Linking(key, [], [], None)
    now: dict[str, Linked] = {}
    for address in sorted(analyses):
        found, node = analyses[address], stacks[address]
        kept = earlier.get(address)
        if kept is None or kept.analysis is not found:
            linker = linker or Linker(stacks)
            fresh = _linked(linker, address, found, node)
            same = same and kept is not None and fresh.same_links(kept)
            kept = fresh
        linking.edges.extend(kept.edges)
        linking.unresolved.extend(kept.unresolved)
        node.local_reads = list(kept.local_reads)
        node.inputs = list(kept.inputs)
        now[address] = kept
    if same and entry is not None:
        linking.findings = entry.findings
    _MEMO[key] = _Entry(now, linking.findings)
    _MEMO.move_to_end(key)
    while len(_MEMO) > _KEPT:
        _MEMO.popitem(last=False)
    return linking


def remember(linking: Linking, findings: Findings) -> None:
    """The findings of `linking`'s links, for the next build with the same."""
    entry = _MEMO.get(linking.key)
    if entry is not None:
        entry.findings = findings


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
