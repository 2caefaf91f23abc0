"""A persistent mapping: an update costs what changed, not the size of the map.

The engine's state is an immutable value, replaced after every action. With a
plain dict each replacement copied every resource's entry: O(resources) per
action, the largest cost of `lockstep ci` at 10,000 resources. A `PMap` is a
shared, never-mutated *base* dict plus a small *overlay* of the entries set or
removed since; an update copies only the overlay, and once the overlay grows
past about the square root of the base it is folded into a new base (so an
update costs O(sqrt n) amortised, and a lookup at most two dict probes).

Two maps derived from one another also tell, cheaply, which keys differ
(`changed_keys`): each map remembers the map it was made from and the keys
that step set, a few steps back, so the changes between two states of one
batch cost what changed; failing that, maps of the same base compare their
overlays. That is what lets the scheduler and the snapshot diff do work
proportional to a batch, not to the graph.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from itertools import compress
from math import isqrt
from operator import is_not
from typing import Generic, TypeVar, cast

K = TypeVar("K")
V = TypeVar("V")


class _Removed:
    """The overlay's marker for a key removed from the base."""

    __slots__ = ()


_REMOVED = _Removed()
_ABSENT = object()
# Overlays smaller than this are never folded: folding a small map gains nothing.
_MIN_OVERLAY = 32
# How many steps back a map remembers where it came from (each step keeps its
# predecessor alive, so the chain is short: a batch is a few actions). The window
# slides: any two maps at most this many steps apart compare by their steps.
_CHAIN = 8


class PMap(Mapping[K, V], Generic[K, V]):
    __slots__ = ("_base", "_flat", "_len", "_over", "_parent", "_step")

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        base = dict(items)
        self._base: dict[K, V] = base
        self._over: dict[K, V | _Removed] = {}
        self._len = len(base)
        # The merged dict, built on first whole-map read (the map never changes after creation).
        self._flat: dict[K, V] | None = base
        self._parent: PMap[K, V] | None = None
        self._step: frozenset[K] = frozenset()

    @staticmethod
    def of(m: Mapping[K, V]) -> PMap[K, V]:
        """`m` itself when it is a PMap, else a PMap of its items."""
        return m if isinstance(m, PMap) else PMap(m)

    @classmethod
    def _make(cls, base: dict[K, V], over: dict[K, V | _Removed], length: int) -> PMap[K, V]:
        m: PMap[K, V] = cls.__new__(cls)
        m._base, m._over, m._len = base, over, length
        m._flat = None if over else base
        m._parent, m._step = None, frozenset()
        return m

    def _derived(self, m: PMap[K, V], step: frozenset[K]) -> PMap[K, V]:
        m._parent, m._step = self, step
        # Cut the link of the map _CHAIN steps behind `m`, so that no more stay alive
        # (its contents never change; only comparisons further back fall back).
        a = self
        for _ in range(_CHAIN - 1):
            up = a._parent
            if up is None:
                return m
            a = up
        a._parent = None
        return m

    # -- reading -------------------------------------------------------------
    # (No `typing.cast` here: it is a function call, and these run millions of times.)

    def __getitem__(self, key: K) -> V:
        v = self._over.get(key, _ABSENT)
        if v is _ABSENT:
            return self._base[key]
        if v is _REMOVED:
            raise KeyError(key)
        return v  # type: ignore[return-value]

    def get(self, key: K, default: object = None) -> V | None:  # type: ignore[override]
        v = self._over.get(key, _ABSENT)
        if v is _ABSENT:
            return self._base.get(key, default)  # type: ignore[return-value]
        if v is _REMOVED:
            return default  # type: ignore[return-value]
        return v  # type: ignore[return-value]

    def __contains__(self, key: object) -> bool:
        v = self._over.get(key, _ABSENT)  # type: ignore[arg-type]
        if v is _ABSENT:
            return key in self._base
        return v is not _REMOVED

    def __len__(self) -> int:
        return self._len

    def flat(self) -> dict[K, V]:
        """The whole map as a dict (cached; callers must not mutate it)."""
        flat = self._flat
        if flat is None:
            flat = dict(self._base)
            for k, v in self._over.items():
                if v is _REMOVED:
                    del flat[k]
                else:
                    flat[k] = cast(V, v)
            self._flat = flat
        return flat

    def __iter__(self) -> Iterator[K]:
        return iter(self.flat())

    def keys(self) -> KeysView[K]:
        return self.flat().keys()

    def values(self) -> ValuesView[V]:
        return self.flat().values()

    def items(self) -> ItemsView[K, V]:
        return self.flat().items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PMap):
            return self.flat() == other.flat()
        if isinstance(other, Mapping):
            return self.flat() == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PMap({self.flat()!r})"

    # -- updating --------------------------------------------------------------

    def set(self, key: K, value: V) -> PMap[K, V]:
        return self.update({key: value})

    def update(self, changes: Mapping[K, V], removed: Iterable[K] = ()) -> PMap[K, V]:
        """A new map with `changes` set and `removed` taken out (absent keys are ignored)."""
        base = self._base
        over = dict(self._over)
        length = self._len
        # (Presence tested inline: this runs for every action the store reduces.)
        for k in removed:
            v = over.get(k, _ABSENT)
            if v is _ABSENT:
                if k in base:
                    length -= 1
                    over[k] = _REMOVED
            elif v is not _REMOVED:
                length -= 1
                if k in base:
                    over[k] = _REMOVED
                else:
                    del over[k]
        for k, v in changes.items():
            o = over.get(k, _ABSENT)
            if o is _REMOVED or (o is _ABSENT and k not in base):
                length += 1
            over[k] = v
        step = frozenset(changes.keys()).union(removed) if removed else frozenset(changes.keys())
        if len(over) > max(_MIN_OVERLAY, isqrt(len(base))):
            merged = PMap._make(base, over, length).flat()
            return self._derived(PMap._make(merged, {}, len(merged)), step)
        return self._derived(PMap._make(self._base, over, length), step)


def _steps_between(old: PMap[K, V], new: PMap[K, V]) -> set[K] | None:
    """The keys set on the way from `old` to `new`, when `new` was made from `old` in a few steps."""
    keys: set[K] = set()
    m: PMap[K, V] | None = new
    while m is not None and m is not old:
        keys.update(m._step)
        m = m._parent
    return keys if m is old else None


def set_since(old: Mapping[K, object], new: Mapping[K, object]) -> set[K] | None:
    """The keys set on the way from `old` to `new` (a superset of the changed ones), when `new`
    was made from `old` in a few steps; else None."""
    if isinstance(old, PMap) and isinstance(new, PMap):
        return _steps_between(old, new)
    return None


def changed_keys(old: Mapping[K, object], new: Mapping[K, object]) -> list[K] | None:
    """Keys whose value is not the same object in `old` and `new` (added or removed included).

    Proportional to the overlays when both are PMaps of one base; otherwise a
    walk at C speed when both have the same keys in the same order; None when
    neither applies (the caller compares in full).
    """
    if isinstance(old, PMap) and isinstance(new, PMap):
        steps = _steps_between(old, new)
        if steps is not None:
            return [k for k in steps if old.get(k, _ABSENT) is not new.get(k, _ABSENT)]
        if old._base is new._base:
            return [k for k in old._over.keys() | new._over.keys() if old.get(k, _ABSENT) is not new.get(k, _ABSENT)]
        old, new = old.flat(), new.flat()
    if len(old) != len(new) or old.keys() != new.keys():
        return None
    # Same keys: keys keep their order in maps derived from one another, so
    # position i of both holds the same key. Were the order ever different, the
    # positions that moved would all be reported: a superset, never a miss (two
    # keys never share one value object in the engine's maps).
    return list(compress(new.keys(), map(is_not, old.values(), new.values())))
