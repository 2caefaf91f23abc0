"""A FIFO of log lines bounded by count and by bytes (the log store's memory rings)."""

from __future__ import annotations

import bisect
import sys
from collections.abc import Iterator
from sys import getsizeof
from typing import Generic, Protocol, TypeVar


class _Line(Protocol):
    @property
    def seq(self) -> int: ...

    @property
    def text(self) -> str: ...


L = TypeVar("L", bound=_Line)

# What a line costs beyond its text: the LogLine object and its slots.
LINE_OVERHEAD = 100


def _size(text: str) -> int:
    # getsizeof is O(1) and exact for str: 1, 2 or 4 bytes a character, by the widest one.
    return sys.getsizeof(text) + LINE_OVERHEAD


class LineRing(Generic[L]):
    """A FIFO of lines bounded by count and by bytes, sorted by seq, with O(log n) lookup by seq."""

    __slots__ = ("_buf", "_bytes", "_cap", "_len", "_max_bytes", "_start", "dropped")

    def __init__(self, cap: int, max_bytes: int) -> None:
        self._cap = max(1, cap)
        # Grown by doubling up to the cap: thousands of resources that log a
        # line or two must not each hold a cap-sized array.
        self._buf: list[L | None] = [None] * min(self._cap, 8)
        self._start = 0
        self._len = 0
        self._bytes = 0
        self._max_bytes = max_bytes
        self.dropped = 0  # lines let go so far: none means it still holds everything ever appended

    @property
    def size(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: int) -> L:
        item = self._buf[(self._start + i) % len(self._buf)]
        assert item is not None
        return item

    def append(self, line: L) -> None:
        # Two of these run for every log line: attributes read once, the size inlined.
        n = self._len
        buf = self._buf
        if n == self._cap:
            self._drop_oldest()
            n -= 1
        elif n == len(buf):
            size = min(self._cap, 2 * n)
            buf = self._buf = [self[i] for i in range(n)] + [None] * (size - n)
            self._start = 0
        buf[(self._start + n) % len(buf)] = line
        self._len = n + 1
        self._bytes += getsizeof(line.text) + LINE_OVERHEAD
        # The newest line always stays, however long (it is at most max_line_chars).
        if self._bytes > self._max_bytes:
            while self._bytes > self._max_bytes and self._len > 1:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        old = self._buf[self._start]
        assert old is not None
        self._bytes -= _size(old.text)
        self._buf[self._start] = None
        self._start = (self._start + 1) % len(self._buf)
        self._len -= 1
        self.dropped += 1

    def after(self, seq: int) -> Iterator[L]:
        """Lines with a seq greater than `seq`, oldest first."""
        i = bisect.bisect_right(self, seq, key=lambda line: line.seq)
        for k in range(i, self._len):
            yield self[k]

    def last(self, n: int) -> list[L]:
        return [self[k] for k in range(max(0, self._len - n), self._len)]
