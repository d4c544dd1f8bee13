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


def strongly_connected(edges: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """{node: every node it shares a cycle with, itself included}, for nodes on a cycle only
    (Tarjan's strongly connected components, walked with a stack of iterators)."""
    targets: dict[str, set[str]] = {}
    for upstream, downstream in edges:
        targets.setdefault(upstream, set()).add(downstream)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: list[str] = []
    groups: dict[str, frozenset[str]] = {}
    closed: set[str] = set()
    for start in sorted(targets):
        if start in index:
            continue
        index[start] = low[start] = len(index)
        on_stack.append(start)
        walks = [(start, iter(sorted(targets.get(start, ()))))]
        while walks:
            node, nexts = walks[-1]
            nxt = next(nexts, None)
            if nxt is None:
                walks.pop()
                if walks:
                    low[walks[-1][0]] = min(low[walks[-1][0]], low[node])
                if low[node] == index[node]:
                    closed.update(_close_group(node, on_stack, groups))
            elif nxt not in index:
                index[nxt] = low[nxt] = len(index)
                on_stack.append(nxt)
                walks.append((nxt, iter(sorted(targets.get(nxt, ())))))
            elif nxt not in closed:
                low[node] = min(low[node], index[nxt])
    return groups


def _close_group(root: str, on_stack: list[str], groups: dict[str, frozenset[str]]) -> list[str]:
    """Take the finished component rooted at `root` off the stack; record it if it is a cycle."""
    members = on_stack[on_stack.index(root) :]
    del on_stack[on_stack.index(root) :]
    if len(members) > 1:
        group = frozenset(members)
        for member in members:
            groups[member] = group
    return members
