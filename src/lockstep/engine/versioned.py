"""A dict the scheduler writes in place, whose past versions stay readable unchanged.

Each decision hands out the hold entries it was taken on, and must keep them
while the next decisions rewrite some. A persistent map copies part of itself
on every update and, every so often, all of it. Here the newest contents are
one plain dict, written in place; `freeze()` returns a read-only `Version` of
the contents as they stand, and every later write first saves the value it
overwrites in the newest version's undo record (once per key). So a version
reads a key from its own undo record, else from the versions after it, else
from the dict: the newest version reads as fast as the dict itself, the one
before it (what the snapshot diff compares with) one step more, and a version
nobody holds any more is freed with its undo record (versions hold only
their successors).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_ABSENT: object = object()


class Version(Mapping[K, V], Generic[K, V]):
    __slots__ = ("_data", "_flat", "_next", "_undo")

    def __init__(self, data: dict[K, V]) -> None:
        self._data = data
        # Values as they were at this version, for the keys written after it (until the next version).
        self._undo: dict[K, object] = {}
        self._next: Version[K, V] | None = None
        self._flat: dict[K, V] | None = None

    def get(self, key: K, default: object = None) -> V | None:  # type: ignore[override]
        v: Version[K, V] | None = self
        while v is not None:
            u = v._undo.get(key, _ABSENT)
            if u is not _ABSENT:
                return default if u is _ABSENT_VALUE else u  # type: ignore[return-value]
            v = v._next
        return self._data.get(key, default)  # type: ignore[return-value]

    def __getitem__(self, key: K) -> V:
        v = self.get(key, _ABSENT)
        if v is _ABSENT:
            raise KeyError(key)
        return v  # type: ignore[return-value]

    def __contains__(self, key: object) -> bool:
        return self.get(key, _ABSENT) is not _ABSENT  # type: ignore[arg-type]

    def flat(self) -> dict[K, V]:
        """The whole version as a dict (built once, when first asked: a version never changes)."""
        if self._flat is None:
            chain: list[Version[K, V]] = []
            v: Version[K, V] | None = self
            while v is not None:
                chain.append(v)
                v = v._next
            out = dict(self._data)
            # The newest undo records first, so that each key ends with its oldest saved value.
            for v in reversed(chain):
                for k, u in v._undo.items():
                    if u is _ABSENT_VALUE:
                        out.pop(k, None)
                    else:
                        out[k] = u  # type: ignore[assignment]
            self._flat = out
        return self._flat

    def __iter__(self) -> Iterator[K]:
        return iter(self.flat())

    def __len__(self) -> int:
        return len(self.flat())


# Saved for a key that had no value at a version.
_ABSENT_VALUE: object = object()


class VersionedDict(Generic[K, V]):
    """The writer's side: a dict written in place, and `freeze()` for a version that never changes."""

    def __init__(self) -> None:
        self.data: dict[K, V] = {}
        self._head: Version[K, V] | None = None

    def get(self, key: K) -> V | None:
        return self.data.get(key)

    def __setitem__(self, key: K, value: V) -> None:
        head = self._head
        if head is not None and key not in head._undo:
            head._undo[key] = self.data.get(key, _ABSENT_VALUE)
        self.data[key] = value

    def __delitem__(self, key: K) -> None:
        head = self._head
        if head is not None and key not in head._undo:
            head._undo[key] = self.data.get(key, _ABSENT_VALUE)
        del self.data[key]

    def freeze(self) -> Version[K, V]:
        """The contents as they stand now, unchanged by later writes."""
        head = self._head
        if head is not None and not head._undo:
            return head  # nothing written since: the same version
        new: Version[K, V] = Version(self.data)
        if head is not None:
            head._next = new
        self._head = new
        return new
