"""Dependency structure of the running graph: declared plus inferred edges.

Computed once per configuration or inference change and kept inside the
engine state, so the scheduler never walks the graph from scratch per call.

Transitive closures are held as one Python int per node, a bitset over the
node's position in an order: at 10,000 resources the closures of a layered
graph hold millions of pairs, which as frozensets of names cost gigabytes
and seconds to build, and as bitsets a few megabytes and milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from lockstep.model.graph import topo_order

_BIT_BYTES = bytes.maketrans(b"01", b"\x00\x01")


class _Index:
    """Names by bit position and positions by name; shared by every set over it."""

    __slots__ = ("names", "pos")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.pos = {n: i for i, n in enumerate(names)}


class NodeSet(Set[str]):
    """An immutable set of resource names backed by a bitset.

    Equal to (and hashed like) the frozenset of the same names. Binary
    operations with plain sets iterate the smaller side, as frozensets do,
    and return frozensets.
    """

    __slots__ = ("_bits", "_index")

    def __init__(self, bits: int, index: _Index) -> None:
        self._bits = bits
        self._index = index

    def __contains__(self, name: object) -> bool:
        p = self._index.pos.get(name) if isinstance(name, str) else None
        return p is not None and (self._bits >> p) & 1 == 1

    def __iter__(self) -> Iterator[str]:
        # Bit i of the int is character i of its reversed binary spelling; mapped
        # to 0/1 bytes it selects the names at C speed.
        return compress(self._index.names, bin(self._bits)[:1:-1].encode().translate(_BIT_BYTES))

    def __len__(self) -> int:
        return self._bits.bit_count()

    def __bool__(self) -> bool:
        return self._bits != 0

    @classmethod
    def _from_iterable(cls, it: Iterable[Any]) -> frozenset[Any]:
        return frozenset(it)

    def _same(self, other: object) -> bool:
        return isinstance(other, NodeSet) and other._index is self._index

    def __and__(self, other: object) -> Any:
        if isinstance(other, NodeSet) and self._same(other):
            return NodeSet(self._bits & other._bits, self._index)
        if not isinstance(other, Set):
            return NotImplemented
        small, big = (other, self) if len(other) <= len(self) else (self, other)
        return frozenset(x for x in small if x in big)

    __rand__ = __and__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NodeSet) and self._same(other):
            return self._bits == other._bits
        if not isinstance(other, Set):
            return NotImplemented
        return len(self) == len(other) and all(x in other for x in self)

    def __hash__(self) -> int:
        return self._hash()

    def __repr__(self) -> str:
        return f"NodeSet({sorted(self)!r})"


class Closures(Mapping[str, NodeSet]):
    """name -> NodeSet of its transitive neighbours in one direction, built on lookup from the bitsets."""

    __slots__ = ("_bits", "_index")

    def __init__(self, bits: Mapping[str, int], index: _Index) -> None:
        self._bits = bits
        self._index = index

    def __getitem__(self, name: str) -> NodeSet:
        return NodeSet(self._bits[name], self._index)

    def __iter__(self) -> Iterator[str]:
        return iter(self._bits)

    def __len__(self) -> int:
        return len(self._bits)

    def bits(self, name: str) -> int:
        return self._bits.get(name, 0)

    def position(self, name: str) -> int | None:
        return self._index.pos.get(name)

    def bit(self, name: str) -> int:
        """The bit standing for name in these sets (0 for an unknown name), to keep masks of other sets."""
        p = self._index.pos.get(name)
        return 0 if p is None else 1 << p

    def within(self, name: str, mask: int) -> NodeSet:
        """The closure of name restricted to a mask of bit()s: an intersection in a few machine words per node."""
        return NodeSet(self._bits.get(name, 0) & mask, self._index)


_EMPTY = Closures({}, _Index(()))


@dataclass(frozen=True)
class Topology:
    order: tuple[str, ...] = ()
    # Direct edges, both directions.
    ups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    downs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Transitive closures.
    all_ups: Closures = field(default_factory=lambda: _EMPTY)
    all_downs: Closures = field(default_factory=lambda: _EMPTY)

    def reaches(self, src: str, dst: str) -> bool:
        """True when dst is a transitive dependent of src (src ->...-> dst)."""
        p = self.all_ups.position(src)
        return p is not None and (self.all_ups.bits(dst) >> p) & 1 == 1


def _closure_bits(order: list[str], edges: Mapping[str, set[str]], index: _Index) -> dict[str, int]:
    """Bitsets of the transitive neighbours along `edges`, `order` listing a node's neighbours before it."""
    pos = index.pos
    out: dict[str, int] = {}
    for n in order:
        acc = 0
        for u in edges[n]:
            # A neighbour not yet seen is on a cycle: it counts, its closure does not.
            acc |= out.get(u, 0) | (1 << pos[u])
        out[n] = acc
    return out


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
    # Upstream bits count from the first node, downstream bits from the last, so
    # each int is only as wide as the part of the graph on its side.
    up_index, down_index = _Index(tuple(order)), _Index(tuple(reversed(order)))
    up_bits = _closure_bits(order, ups, up_index)
    down_bits = _closure_bits(list(reversed(order)), downs, down_index)
    return Topology(
        order=tuple(order),
        ups={n: frozenset(s) for n, s in ups.items()},
        downs={n: frozenset(s) for n, s in downs.items()},
        all_ups=Closures(up_bits, up_index),
        all_downs=Closures(down_bits, down_index),
    )
