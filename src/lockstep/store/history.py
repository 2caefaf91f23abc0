"""The in-memory history: a bounded, immutable sequence that appends in O(1).

The state kept the last updates as a tuple, and each finished update built a new
tuple of up to HISTORY_IN_MEMORY records (two copies: the append and the bound):
at thousands of updates, 20-30 µs per update for one record. A `History` is a
window `[start, end)` on a list that only ever grows at its end. Appending to
the newest window appends to the shared list and returns a wider window, so
every older value still sees exactly the records it saw: no value ever changes.
Appending to an older window (a state that is not the latest: tests, replays)
copies its records first, so two branches never share a slot. When the records
before the window outnumber the bound, the list is cut (a copy, amortised O(1)).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Generic, TypeVar, overload

T = TypeVar("T")


class History(Sequence[T], Generic[T]):
    __slots__ = ("_buf", "_end", "_start")

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._buf: list[T] = list(items)
        self._start = 0
        self._end = len(self._buf)

    @staticmethod
    def of(items: Sequence[T]) -> History[T]:
        """`items` itself when it is a History, else a History of them."""
        return items if isinstance(items, History) else History(items)

    def append(self, item: T, bound: int) -> History[T]:
        """A new history with `item` last, keeping at most `bound` (>= 1) records."""
        buf, end = self._buf, self._end
        if end != len(buf):
            # Not the newest window on this list: its slots past `end` belong to another value.
            buf, end = buf[self._start:end], end - self._start
            start = 0
        else:
            start = self._start
        buf.append(item)
        end += 1
        start = max(start, end - bound)
        if start > bound:
            # Drop what no window made from here can see again (older values keep the old list).
            buf, end, start = buf[start:end], end - start, 0
        out: History[T] = History.__new__(History)
        out._buf, out._start, out._end = buf, start, end
        return out

    def __len__(self) -> int:
        return self._end - self._start

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[T, ...]: ...

    def __getitem__(self, i: int | slice) -> T | tuple[T, ...]:
        if isinstance(i, slice):
            return tuple(self._buf[self._start:self._end][i]) if i.step not in (None, 1) else self._slice(i)
        n = self._end - self._start
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("history index out of range")
        return self._buf[self._start + i]

    def _slice(self, s: slice) -> tuple[T, ...]:
        lo, hi, _ = s.indices(self._end - self._start)
        return tuple(self._buf[self._start + lo:self._start + max(lo, hi)])

    def __iter__(self) -> Iterator[T]:
        # islice stops at `end` even when the shared list has grown since.
        return islice(self._buf, self._start, self._end)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"History({list(self)!r})"
