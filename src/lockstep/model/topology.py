"""Dependency structure of the running graph: declared plus inferred edges.

Computed once per configuration or inference change and kept inside the
engine state, so the scheduler never walks the graph from scratch per call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lockstep.model.graph import topo_order


@dataclass(frozen=True)
class Topology:
    order: tuple[str, ...] = ()
    # Direct edges, both directions.
    ups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    downs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Transitive closures.
    all_ups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    all_downs: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def reaches(self, src: str, dst: str) -> bool:
        """True when dst is a transitive dependent of src (src ->...-> dst)."""
        return dst in self.all_downs.get(src, frozenset())


def build_topology(names: Iterable[str], edges: Iterable[tuple[str, str]]) -> Topology:
    """Edges are (upstream, downstream). Edges naming unknown nodes are ignored.

    The order is topological, ties broken by definition order (Tilt builds in
    Tiltfile order). Nodes on a cycle (which validation rejects for declared
    edges) still get a place, so the function stays total.
    """
    names = list(names)
    known = set(names)
    ups: dict[str, set[str]] = {n: set() for n in names}
    downs: dict[str, set[str]] = {n: set() for n in names}
    for u, d in edges:
        if u in known and d in known and u != d:
            ups[d].add(u)
            downs[u].add(d)
    # The same start order `lockstep check` prints: by depth, then definition order.
    order = topo_order(names, [(u, d) for d, us in ups.items() for u in us])
    all_ups: dict[str, frozenset[str]] = {}
    for n in order:
        acc: set[str] = set()
        for u in ups[n]:
            acc.add(u)
            acc |= all_ups.get(u, frozenset())
        all_ups[n] = frozenset(acc)
    all_downs_sets: dict[str, set[str]] = {n: set() for n in names}
    for n, us in all_ups.items():
        for u in us:
            all_downs_sets[u].add(n)
    return Topology(
        order=tuple(order),
        ups={n: frozenset(s) for n, s in ups.items()},
        downs={n: frozenset(s) for n, s in downs.items()},
        all_ups=all_ups,
        all_downs={n: frozenset(s) for n, s in all_downs_sets.items()},
    )
