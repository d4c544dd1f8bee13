"""Cycles of a directed graph given as edges. Pure."""

from __future__ import annotations

from collections.abc import Iterable


def find_cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Each cycle once, as the path that closes it (`a → b → a`), found by one depth-first
    walk in name order. The walk keeps a stack of iterators, not Python's call stack, so a
    chain of many thousands of stacks is no deeper to walk than a short one."""
    targets: dict[str, set[str]] = {}
    for upstream, downstream in edges:
        targets.setdefault(upstream, set()).add(downstream)
    outgoing = {node: sorted(nexts) for node, nexts in targets.items()}
    done: set[str] = set()
    seen: set[frozenset[str]] = set()
    cycles: list[list[str]] = []
    for start in sorted(outgoing):
        if start in done:
            continue
        trail, position = [start], {start: 0}
        walks = [iter(outgoing.get(start, []))]
        while walks:
            nxt = next(walks[-1], None)
            if nxt is None:
                finished = trail.pop()
                del position[finished]
                done.add(finished)
                walks.pop()
            elif nxt in position:
                cycle = [*trail[position[nxt] :], nxt]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append(cycle)
            elif nxt not in done:
                position[nxt] = len(trail)
                trail.append(nxt)
                walks.append(iter(outgoing.get(nxt, [])))
    return cycles
