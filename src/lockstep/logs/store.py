"""The log store: bounded in memory, complete on disk.

Every line gets a global, monotonically increasing `seq`; a reader keeps the
last seq it saw as its checkpoint and asks `since(checkpoint)` for the rest
(the dashboard's live stream and `lockstep logs -f` both work this way).

Memory holds the last `global_lines` lines overall and the last
`per_resource_lines` per resource (the same objects, referenced twice). Disk
holds everything: one append-only JSON-lines file per resource, written
through a buffer that is flushed every `flush_secs` (checked on append, and by
`flush_periodically()` when the log is quiet) and on close.
"""

from __future__ import annotations

import asyncio
import bisect
import enum
import json
import logging
import os
import re
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from heapq import merge
from typing import IO

log = logging.getLogger(__name__)


class LogSource(enum.Enum):
    BUILD = "build"
    RUNTIME = "runtime"
    SYSTEM = "system"


class LogStream(enum.Enum):
    """Which pipe a process line came from; NONE for lockstep's own lines. Not a level."""

    NONE = "none"
    STDOUT = "out"
    STDERR = "err"


class LogLevel(enum.Enum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int
    resource: str
    source: LogSource
    level: LogLevel
    at: float
    text: str
    stream: LogStream = LogStream.NONE


LogCallback = Callable[[LogLine], None]


class _Ring:
    """A fixed-capacity FIFO of lines, sorted by seq, with O(log n) lookup by seq."""

    __slots__ = ("_buf", "_cap", "_len", "_start")

    def __init__(self, cap: int) -> None:
        self._cap = max(1, cap)
        self._buf: list[LogLine | None] = [None] * self._cap
        self._start = 0
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: int) -> LogLine:
        item = self._buf[(self._start + i) % self._cap]
        assert item is not None
        return item

    def append(self, line: LogLine) -> None:
        if self._len < self._cap:
            self._buf[(self._start + self._len) % self._cap] = line
            self._len += 1
        else:
            self._buf[self._start] = line
            self._start = (self._start + 1) % self._cap

    def after(self, seq: int) -> Iterator[LogLine]:
        """Lines with a seq greater than `seq`, oldest first."""
        i = bisect.bisect_right(self, seq, key=lambda line: line.seq)
        for k in range(i, self._len):
            yield self[k]

    def last(self, n: int) -> list[LogLine]:
        return [self[k] for k in range(max(0, self._len - n), self._len)]


_MAX_PENDING = 16_384
# json's C string encoder (keeps non-ASCII as is, like ensure_ascii=False).
_json_str: Callable[[str], str] = json.encoder.encode_basestring

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _file_name(resource: str) -> str:
    # Resource names may hold '/', ':' or spaces; keep them reversible and flat.
    safe = _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", resource) or "%00"
    return ("%2E" + safe[1:] if safe.startswith(".") else safe) + ".jsonl"


class LogStore:
    def __init__(
        self,
        directory: str | None,
        *,
        per_resource_lines: int = 5_000,
        global_lines: int = 100_000,
        flush_secs: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self._per_resource_cap = per_resource_lines
        self._global = _Ring(global_lines)
        self._by_resource: dict[str, _Ring] = {}
        self._seq = 0
        self._subscribers: list[LogCallback] = []
        self._files: dict[str, IO[str]] = {}
        self._pending: dict[str, list[str]] = {}
        self._pending_count = 0
        self._flush_secs = flush_secs
        self._clock = clock
        self._last_flush = clock()
        self._closed = False
        if directory is not None:
            os.makedirs(directory, exist_ok=True)

    @property
    def per_resource_capacity(self) -> int:
        return self._per_resource_cap

    @property
    def checkpoint(self) -> int:
        """The seq of the newest line (0 before any)."""
        return self._seq

    def append(
        self, resource: str, source: LogSource, text: str, at: float, level: LogLevel = LogLevel.INFO,
        stream: LogStream = LogStream.NONE,
    ) -> LogLine:
        self._seq += 1
        line = LogLine(self._seq, resource, source, level, at, text, stream)
        self._global.append(line)
        ring = self._by_resource.get(resource)
        if ring is None:
            ring = self._by_resource[resource] = _Ring(self._per_resource_cap)
        ring.append(line)
        if self.directory is not None and not self._closed:
            self._buffer(line)
        for cb in self._subscribers:
            try:
                cb(line)
            except Exception:
                # One broken viewer must not break logging for everyone.
                log.exception("log subscriber raised")
        return line

    def since(
        self, checkpoint: int, resources: Collection[str] | None = None, limit: int | None = None
    ) -> list[LogLine]:
        """Lines newer than `checkpoint`, oldest first, at most `limit` (page with the last seq).

        With `resources`, served from the per-resource rings (so each resource's
        last `per_resource_lines` are available even if the global ring moved on).
        """
        if resources is None:
            it: Iterator[LogLine] = self._global.after(checkpoint)
        else:
            rings = [self._by_resource[r] for r in resources if r in self._by_resource]
            it = merge(*(ring.after(checkpoint) for ring in rings), key=lambda line: line.seq)
        out: list[LogLine] = []
        for line in it:
            if limit is not None and len(out) >= limit:
                break
            out.append(line)
        return out

    def tail(self, resource: str | None, n: int) -> list[LogLine]:
        """The last `n` lines of one resource, or overall."""
        if resource is None:
            return self._global.last(n)
        ring = self._by_resource.get(resource)
        return ring.last(n) if ring else []

    def resources(self) -> list[str]:
        return list(self._by_resource)

    def subscribe(self, callback: LogCallback) -> Callable[[], None]:
        """Call `callback` synchronously on every append; returns an unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    # --- disk -------------------------------------------------------------------

    def path_for(self, resource: str) -> str:
        if self.directory is None:
            raise ValueError("this LogStore has no directory")
        return os.path.join(self.directory, _file_name(resource))

    def _buffer(self, line: LogLine) -> None:
        # Hand-assembled JSON: json.dumps of a dict costs 4x as much, and this
        # runs for every line of every process.
        record = (
            f'{{"seq":{line.seq},"src":"{line.source.value}","lvl":"{line.level.value}",'
            f'"at":{line.at!r},"str":"{line.stream.value}","text":{_json_str(line.text)}}}'
        )
        pending = self._pending.get(line.resource)
        if pending is None:
            pending = self._pending[line.resource] = []
        pending.append(record)
        self._pending_count += 1
        # Clock read only every 256 lines: cheap enough for a million appends.
        # The count bound keeps the buffer (memory) small under a flood.
        if self._pending_count & 0xFF == 0 and (
            self._pending_count >= _MAX_PENDING or self._clock() - self._last_flush >= self._flush_secs
        ):
            self.flush()

    def flush(self) -> None:
        """Write buffered lines to disk."""
        for resource, records in self._pending.items():
            if not records:
                continue
            f = self._files.get(resource)
            if f is None:
                f = self._files[resource] = open(  # noqa: SIM115 - kept open for the store's life
                    self.path_for(resource), "a", encoding="utf-8", buffering=1 << 16
                )
            f.write("\n".join(records))
            f.write("\n")
            f.flush()
            records.clear()
        self._pending_count = 0
        self._last_flush = self._clock()

    async def flush_periodically(self) -> None:
        """Flush every `flush_secs` until cancelled (run it in the engine's TaskGroup)."""
        while True:
            await asyncio.sleep(self._flush_secs)
            if self._pending_count:
                self.flush()

    def read_all_from_disk(self, resource: str) -> Iterator[LogLine]:
        """Every line of `resource` ever written (flushes first)."""
        if not self._closed:
            self.flush()
        try:
            f = open(self.path_for(resource), encoding="utf-8")  # noqa: SIM115 - generator owns it
        except FileNotFoundError:
            return
        with f:
            for raw in f:
                d = json.loads(raw)
                yield LogLine(d["seq"], resource, LogSource(d["src"]), LogLevel(d["lvl"]), d["at"], d["text"],
                              LogStream(d.get("str", "none")))

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        self._closed = True
        for f in self._files.values():
            f.close()
        self._files.clear()
