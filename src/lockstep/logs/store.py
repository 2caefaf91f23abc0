"""The log store: bounded in memory, complete on disk.

Every line gets a global, monotonically increasing `seq`; a reader keeps the
last seq it saw as its checkpoint and asks `since(checkpoint)` for the rest
(the dashboard's live stream and `lockstep logs -f` both work this way).

Memory holds the last `global_lines` lines overall and the last
`per_resource_lines` per resource (the same objects, referenced twice), and
each of those rings is also bounded by bytes (`global_bytes`,
`per_resource_bytes`): 15,000 lines of 65 KB must not cost a gigabyte. A
single line longer than `max_line_chars` is truncated in memory (with a note
of how much was cut), never on disk. Disk holds everything: ONE append-only
JSON-lines file per engine run (`run-<UTC start>-<pid>.jsonl`, runfile.py),
each record naming its resource, written through a buffer that is flushed
every `flush_secs` (checked on append, and by `flush_periodically()` when the
log is quiet) and on close. The newest `KEEP_RUNS` run files are kept, older
ones deleted when this run's file is created. A failing disk (full, EIO) drops
the buffered lines from disk only, shows in `health`, is retried on the next
flush, and the lines it cost are counted in a note in their resource's log.

Order and completeness: each resource's lines reach the file in seq order
(batches are written one at a time, in order; within a batch a resource's
lines are one contiguous run). A crash loses at most the unflushed buffer and
can tear only the file's last line, which readers skip; a new run writes a new
file, and a file reopened after a failed write starts on a new line.

The writes run on one writer thread, so that a slow disk never stalls the
event loop (and every process start behind it). One batch is written while
the next one fills; `flush()` and `close()` wait for the disk, the flushes
that appends trigger do not. An append must cost only a few microseconds on
the event loop (each update logs two or three lines, and a graph has up to
10,000 resources): it stores the line in the rings and queues it. The writer
thread encodes the batch (`records.py`), each resource's lines one bytes
object, and writes it with one system call (`writev`). Readers of a resource's older lines (scroll-back, excerpts)
read only that resource's extents of the file (runfile.py's index).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from heapq import merge

from lockstep.logs.disk import DiskHealth
from lockstep.logs.line import LogLevel, LogLine, LogSource, LogStream
from lockstep.logs.ring import LineRing
from lockstep.logs.runfile import RunFile

__all__ = ["LogCallback", "LogLevel", "LogLine", "LogSource", "LogStore", "LogStream"]

log = logging.getLogger(__name__)


LogCallback = Callable[[LogLine], None]


_MAX_PENDING = 16_384
_MAX_PENDING_BYTES = 4 << 20
# What a queued line's record adds to its text, for the pending-bytes bound.
_RECORD_OVERHEAD = 100
# Memory bounds: bytes per ring, characters per line (README "Security and limits").
PER_RESOURCE_BYTES = 16 << 20
GLOBAL_BYTES = 64 << 20
MAX_LINE_CHARS = 16 << 10

class LogStore:
    def __init__(
        self,
        directory: str | None,
        *,
        per_resource_lines: int = 5_000,
        global_lines: int = 100_000,
        per_resource_bytes: int = PER_RESOURCE_BYTES,
        global_bytes: int = GLOBAL_BYTES,
        max_line_chars: int = MAX_LINE_CHARS,
        flush_secs: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        health: DiskHealth | None = None,
    ) -> None:
        self.directory = directory
        self.health = health or DiskHealth()
        self._per_resource_cap = per_resource_lines
        self._per_resource_bytes = per_resource_bytes
        self._max_line = max_line_chars
        # Built without subscripting the class: LineRing[LogLine](...) costs a typing call each time.
        self._global: LineRing[LogLine] = LineRing(global_lines, global_bytes)
        self._by_resource: dict[str, LineRing[LogLine]] = {}
        self._seq = 0
        self._subscribers: list[LogCallback] = []
        # Lines waiting for the writer, by resource (the whole line: the disk is never truncated).
        self._pending: dict[str, list[LogLine]] = {}
        self._to_disk = directory is not None
        # Written by the writer thread only (while a batch is in flight); read after a flush.
        self._run = None if directory is None else RunFile(directory, self.health)
        self._writer: ThreadPoolExecutor | None = None
        self._in_flight: Future[None] | None = None
        self._pending_count = 0
        self._pending_bytes = 0
        self._flush_secs = flush_secs
        self._clock = clock
        self._last_flush = clock()
        self._closed = False
        if directory is not None:
            os.makedirs(directory, exist_ok=True)

    def holds_all(self, resource: str) -> bool:
        """True while memory still holds every line of `resource` (nothing older is only on disk)."""
        ring = self._by_resource.get(resource)
        return ring is None or ring.dropped == 0

    @property
    def checkpoint(self) -> int:
        """The seq of the newest line (0 before any)."""
        return self._seq

    def append(
        self, resource: str, source: LogSource, text: str, at: float, level: LogLevel = LogLevel.INFO,
        stream: LogStream = LogStream.NONE,
    ) -> LogLine:
        self._seq = seq = self._seq + 1
        line = full = LogLine(seq, resource, source, level, at, text, stream)
        if len(text) > self._max_line:
            cut = len(text) - self._max_line
            line = LogLine(seq, resource, source, level, at,
                           f"{text[: self._max_line]}... [{cut:,} more characters in the log file]", stream)
        self._global.append(line)
        ring = self._by_resource.get(resource)
        if ring is None:
            ring = self._by_resource[resource] = LineRing(self._per_resource_cap, self._per_resource_bytes)
        ring.append(line)
        if self._to_disk:
            # Queued as is: the writer thread turns it into JSON (the disk keeps the whole line).
            pending = self._pending.get(resource)
            if pending is None:
                self._pending[resource] = [full]
            else:
                pending.append(full)
            self._pending_count += 1
            self._pending_bytes += len(text) + _RECORD_OVERHEAD
            # Clock read only every 256 lines: cheap enough for a million appends.
            # The count and size bounds keep the buffer (memory) small under a flood:
            # 16,384 lines of 65 KB would otherwise wait in memory (a gigabyte).
            if self._pending_bytes >= _MAX_PENDING_BYTES or (self._pending_count & 0xFF == 0 and (
                self._pending_count >= _MAX_PENDING or self._clock() - self._last_flush >= self._flush_secs
            )):
                self._hand_off()
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
        return self.last(n, None if resource is None else (resource,))

    def last(self, n: int, resources: Collection[str] | None = None) -> list[LogLine]:
        """The last `n` lines overall, or of the given resources together, oldest first."""
        if n <= 0:
            return []
        if resources is None:
            return self._global.last(n)
        # The last n of the union lie within each ring's own last n.
        rings = [self._by_resource[r] for r in dict.fromkeys(resources) if r in self._by_resource]
        return list(merge(*(ring.last(n) for ring in rings), key=lambda line: line.seq))[-n:]

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

    @property
    def run_path(self) -> str | None:
        """This run's log file (created with the first batch written), or None without a directory."""
        return None if self._run is None else self._run.path

    def memory_bytes(self) -> int:
        """An upper bound of the bytes held in memory (the rings share line objects)."""
        return self._global.size + sum(r.size for r in self._by_resource.values())

    def flush(self) -> None:
        """Write buffered lines to disk, and return once they are written."""
        self._hand_off()
        self.wait_written()

    def wait_written(self) -> None:
        """Return once the lines already handed to the writer are on disk (the buffer stays buffered)."""
        if self._in_flight is not None:
            self._in_flight.result()
            self._in_flight = None

    def _hand_off(self) -> None:
        """Give the buffered lines to the writer thread (after the batch before them is written)."""
        batch = {r: recs for r, recs in self._pending.items() if recs}
        self._pending = {}
        self._pending_count = 0
        self._pending_bytes = 0
        self._last_flush = self._clock()
        if not batch:
            return
        # One batch in flight: under a flood the buffer, not a queue of batches, is what waits.
        self.wait_written()
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lockstep-logs")
        self._in_flight = self._writer.submit(self._write_batch, batch)

    def _write_batch(self, batch: dict[str, list[LogLine]]) -> None:
        """On the writer thread. On a disk error, the lines are dropped from disk (not memory)."""
        assert self._run is not None
        self._run.write(batch)

    async def flush_periodically(self) -> None:
        """Flush every `flush_secs` until cancelled (run it in the engine's TaskGroup)."""
        while True:
            await asyncio.sleep(self._flush_secs)
            if self._pending_count:
                self._hand_off()

    def read_all_from_disk(self, resource: str) -> Iterator[LogLine]:
        """Every line of `resource` this run wrote, oldest first (flushes first)."""
        if self._run is None:
            return iter(())
        if not self._closed:
            self.flush()
        return self._run.oldest_first(resource)

    def newest_first_on_disk(self, resource: str, before: int | None = None) -> Iterator[LogLine]:
        """`resource`'s lines this run wrote, newest first, skipping the extents that start at `before`
        or later (flushes first, so none is missing)."""
        if self._run is None:
            return iter(())
        if not self._closed:
            self.flush()
        return self._run.newest_first(resource, before)

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._to_disk = False
        if self._run is not None:
            self._run.close()
        if self._writer is not None:
            self._writer.shutdown()
