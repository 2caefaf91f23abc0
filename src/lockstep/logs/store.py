"""The log store: bounded in memory, complete on disk.

Every line gets a global, monotonically increasing `seq`; a reader keeps the
last seq it saw as its checkpoint and asks `since(checkpoint)` for the rest
(the dashboard's live stream and `lockstep logs -f` both work this way).

Memory holds the last `global_lines` lines overall and the last
`per_resource_lines` per resource (the same objects, referenced twice), and
each of those rings is also bounded by bytes (`global_bytes`,
`per_resource_bytes`): 15,000 lines of 65 KB must not cost a gigabyte. A
single line longer than `max_line_chars` is truncated in memory (with a note
of how much was cut), never on disk. Disk holds everything: one append-only
JSON-lines file per resource, written through a buffer that is flushed every
`flush_secs` (checked on append, and by `flush_periodically()` when the log is
quiet) and on close. A failing disk (full, EIO) drops the buffered lines from
disk only, shows in `health`, and is retried on the next flush.

The writes themselves run on one writer thread: creating a file costs about a
millisecond on an ordinary disk, and a graph of 10,000 resources creates
10,000 of them, which would otherwise stall the event loop (and every process
start behind it) for seconds. One batch is written while the next one fills;
`flush()` and `close()` wait for the disk, the flushes that appends trigger do not.

An append must cost only a few microseconds on the event loop (each update
logs two or three lines, and a graph has up to 10,000 resources): it stores
the line in the rings and queues it. The writer thread turns each resource's
queued lines into one bytes object (`records.py`) and writes it with one
`os.write` to a kept-open descriptor. Every write reaches the kernel before
the batch counts as written, so a crash of lockstep loses at most the
unflushed buffer.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import os
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from heapq import merge
from typing import NamedTuple

from lockstep.logs import names, records
from lockstep.logs.disk import DiskHealth, close_fd, open_append_fd, write_all
from lockstep.logs.ring import LineRing

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


class LogLine(NamedTuple):
    """One line; immutable. A named tuple: built in a quarter of a frozen dataclass's time."""

    seq: int
    resource: str
    source: LogSource
    level: LogLevel
    at: float
    text: str
    stream: LogStream = LogStream.NONE


LogCallback = Callable[[LogLine], None]


# Log files kept open at once; the others are reopened (for append) when they get lines.
_OPEN_FILES = 64


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
        # Resource -> open descriptor, least recently written first (touched by the writer thread).
        self._files: dict[str, int] = {}
        self._paths: dict[str, str] = {}
        # Lines waiting for the writer, by resource (the whole line: the disk is never truncated).
        self._pending: dict[str, list[LogLine]] = {}
        self._to_disk = directory is not None
        self._dir_prefix = "" if directory is None else os.path.join(directory, "")
        # Touched by the writer thread only (while a batch is in flight).
        self._unsaved: dict[str, int] = {}  # lines a failing disk cost, by resource
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

    def path_for(self, resource: str) -> str:
        path = self._paths.get(resource)
        if path is None:
            if self.directory is None:
                raise ValueError("this LogStore has no directory")
            # Once per resource. An encoded name never starts with a separator, so
            # directory + separator + name is what os.path.join would give, at a tenth of the cost.
            path = self._paths[resource] = self._dir_prefix + names.encode(resource)
        return path

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
        """On the writer thread. On a disk error, drop the lines from disk (not memory) and go on."""
        failed = False
        for resource, lines in batch.items():
            try:
                self._write(resource, records.encode(lines))
            except OSError as exc:
                close_fd(self._files.pop(resource, None))
                self._unsaved[resource] = self._unsaved.get(resource, 0) + len(lines)
                self.health.failed("logs", exc)
                failed = True
        if not failed:
            self.health.ok("logs")

    def _write(self, resource: str, data: bytes) -> None:
        fd = self._files.pop(resource, None)
        if fd is None:
            if len(self._files) >= _OPEN_FILES:
                # Least recently written first (dicts keep insertion order): every
                # write goes straight to the kernel, so closing loses nothing, and
                # 10,000 resources do not hold 10,000 descriptors.
                close_fd(self._files.pop(next(iter(self._files))))
            fd = open_append_fd(self.path_for(resource))
        self._files[resource] = fd
        lost = self._unsaved.pop(resource, 0)
        try:
            # One write for the gap note (if any) and the lines.
            write_all(fd, records.gap_note(lost) + data if lost else data)
        except OSError:
            self._unsaved[resource] = lost
            raise

    async def flush_periodically(self) -> None:
        """Flush every `flush_secs` until cancelled (run it in the engine's TaskGroup)."""
        while True:
            await asyncio.sleep(self._flush_secs)
            if self._pending_count:
                self._hand_off()

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
                try:
                    d = json.loads(raw)
                    line = LogLine(d["seq"], resource, LogSource(d["src"]), LogLevel(d["lvl"]), d["at"], d["text"],
                                   LogStream(d.get("str", "none")))
                except (ValueError, KeyError, TypeError):
                    continue  # a line torn by a crash or a full disk
                yield line

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._to_disk = False
        for fd in self._files.values():
            close_fd(fd)
        self._files.clear()
        if self._writer is not None:
            self._writer.shutdown()
