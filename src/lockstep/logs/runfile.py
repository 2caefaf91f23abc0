"""One engine run's log on disk: an append-only JSON-lines file, and an index into it.

Every batch the log store hands its writer thread becomes ONE write (`writev`) to one
kept-open O_APPEND descriptor, each resource's lines in it one contiguous byte
run. The index remembers, per resource, the extent (first seq, offset, length)
each batch wrote for it, so a reader of one resource's older lines reads those
extents (backwards) instead of scanning the whole file.

Bounds: one extent per resource per batch, and consecutive extents of a
resource that nothing else came between are one. A batch goes out at least
every 16,384 lines or 4 MB, else once a second (or on an explicit flush), so a
flooding server adds about one extent a second. Past `MAX_EXTENTS` (4,096, 96 KB)
for one resource, neighbouring extents are merged pairwise into spans that may
hold other resources' lines too; readers check each record's `res`, so a span
costs reading more bytes, never a wrong answer.

Failures: a write that fails part-way keeps the extents of the resources whose
bytes all went out, keeps the whole lines of the one it tore, and counts the
rest as lost for the gap note (records.gap_note) written with that resource's
next lines. The descriptor is then dropped; the next batch reopens the file
and starts a new line first if the last one is torn.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import os
import time
from array import array
from collections.abc import Iterator
from typing import BinaryIO

from lockstep.logs import records
from lockstep.logs.disk import DiskHealth, close_fd, open_append_fd
from lockstep.logs.line import LogLine

PREFIX = "run-"
SUFFIX = ".jsonl"
KEEP_RUNS = 20  # run logs kept in a state dir, this one included (README "State")
MAX_EXTENTS = 4096
# Buffers one writev takes (Linux's IOV_MAX).
_IOV_MAX = 1024
_BLOCK = 1 << 16


def run_name(now: float, pid: int) -> str:
    """`run-20261130T231500.123456Z-4242.jsonl`: names sort by start time (UTC, fixed width)."""
    whole = int(now)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(whole)) + f".{int((now - whole) * 1e6):06d}Z"
    return f"{PREFIX}{stamp}-{pid}{SUFFIX}"


def is_run(name: str) -> bool:
    return name.startswith(PREFIX) and name.endswith(SUFFIX)


def run_files(directory: str) -> list[str]:
    """The run logs in `directory`, oldest first (by name, which is by start time)."""
    try:
        return sorted(n for n in os.listdir(directory) if is_run(n))
    except OSError:
        return []


def prune(directory: str, keep: str, runs: int = KEEP_RUNS) -> None:
    """Delete all but the newest `runs` run logs (`keep`, this run's, always stays)."""
    older = [n for n in run_files(directory) if n != keep]
    for name in older[: max(0, len(older) - (runs - 1))]:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, name))


class Extents:
    """One resource's extents in the run file, oldest first: first seq, offset, length."""

    __slots__ = ("lens", "offs", "seqs")

    def __init__(self) -> None:
        self.seqs = array("q")
        self.offs = array("q")
        self.lens = array("q")

    def add(self, first_seq: int, off: int, length: int) -> Extents:
        """Record an extent; returns the object that now holds them (a new one when coarsened)."""
        n = len(self.offs)
        if n and self.offs[n - 1] + self.lens[n - 1] == off:
            self.lens[n - 1] += length  # right after the last one: the same extent, longer
            return self
        self.seqs.append(first_seq)
        self.offs.append(off)
        self.lens.append(length)
        return self._coarsened() if n + 1 > MAX_EXTENTS else self

    def _coarsened(self) -> Extents:
        # A new object: a reader iterating the old one (on another thread) sees it unchanged.
        out = Extents()
        n = len(self.offs)
        for i in range(0, n, 2):
            j = min(i + 1, n - 1)
            out.seqs.append(self.seqs[i])
            out.offs.append(self.offs[i])
            out.lens.append(self.offs[j] + self.lens[j] - self.offs[i])
        return out


def _reversed_lines(f: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """The lines of f[start:end], last first, reading fixed-size blocks from the end."""
    pos = end
    rest = b""
    while pos > start:
        step = min(_BLOCK, pos - start)
        pos -= step
        f.seek(pos)
        chunk = f.read(step) + rest
        parts = chunk.split(b"\n")
        rest = parts[0]
        for raw in reversed(parts[1:]):
            if raw:
                yield raw
    if rest:
        yield rest


def _lines(f: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """The lines of f[start:end], first first, in fixed-size blocks (a span may be large)."""
    f.seek(start)
    pos = start
    rest = b""
    while pos < end:
        chunk = f.read(min(_BLOCK, end - pos))
        if not chunk:
            break  # the file got shorter (truncated by hand): what is left is all there is
        pos += len(chunk)
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from (raw for raw in parts if raw)
    if rest:
        yield rest


def reversed_lines(path: str) -> Iterator[bytes]:
    """The lines of a whole file, last first."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - the generator owns it
    except FileNotFoundError:
        return
    with f:
        yield from _reversed_lines(f, 0, f.seek(0, os.SEEK_END))


class RunFile:
    """This run's log file: written by the log store's writer thread, read through the index."""

    def __init__(self, directory: str, health: DiskHealth, now: float | None = None) -> None:
        self.directory = directory
        self.name = run_name(time.time() if now is None else now, os.getpid())
        self.path = os.path.join(directory, self.name)
        self._health = health
        self._fd: int | None = None
        self._opened = False
        self._index: dict[str, Extents] = {}
        self._unsaved: dict[str, int] = {}  # lines a failing disk cost, by resource

    # --- writer thread ---------------------------------------------------------------

    def write(self, batch: dict[str, list[LogLine]]) -> None:
        """Write one batch with one system call; on a disk error, count what did not go out and go on."""
        chunks: list[bytes] = []
        # Per resource: where its bytes start in the batch, their length, its lines, whether a gap note leads.
        parts: list[tuple[str, int, int, list[LogLine], int]] = []
        at = 0
        for resource, lines in batch.items():
            lost = self._unsaved.pop(resource, 0)
            data = records.encode(resource, lines)
            if lost:
                data = records.gap_note(resource, lost) + data
            chunks.append(data)
            parts.append((resource, at, len(data), lines, lost))
            at += len(data)
        done, start, error = self._write_chunks(chunks, at)
        blob = b"".join(chunks) if done < at else b""  # only a torn write needs the bytes again
        for resource, begin, length, lines, lost in parts:
            if begin + length <= done:
                self._add(resource, lines[0].seq, start + begin, length)
                continue
            # Torn or not written: keep what is whole on disk, count the rest for the gap note.
            head = blob[begin:done] if begin < done else b""
            whole = head.rfind(b"\n") + 1
            newlines = head.count(b"\n")
            if whole:
                self._add(resource, lines[0].seq, start + begin, whole)
            note_saved = 1 if lost and newlines else 0
            missing = len(lines) - (newlines - note_saved) + (0 if note_saved else lost)
            self._unsaved[resource] = self._unsaved.get(resource, 0) + missing
        if error is not None:
            close_fd(self._fd)
            self._fd = None
            self._health.failed("logs", error)
        else:
            self._health.ok("logs")

    def _write_chunks(self, chunks: list[bytes], total: int) -> tuple[int, int, OSError | None]:
        """Bytes written, the file offset they start at, and the error that stopped the rest.

        One `writev` (no copy of the batch) when the kernel takes that many buffers at once, else
        one `write` of the joined batch; a short write (a disk filling up) goes on from where it stopped.
        """
        done = 0
        try:
            fd = self._open()
            done = os.writev(fd, chunks) if len(chunks) <= _IOV_MAX else os.write(fd, b"".join(chunks))
            if done < total:
                rest = b"".join(chunks)
                while done < total:
                    step = os.write(fd, memoryview(rest)[done:])
                    if step == 0:  # never for a regular file; must not spin
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    done += step
        except OSError as exc:
            return done, self._start_of(done), exc
        return done, self._start_of(done), None

    def _start_of(self, done: int) -> int:
        if not done or self._fd is None:
            return 0
        try:
            # O_APPEND leaves the position at the end of what this write put there.
            return os.lseek(self._fd, 0, os.SEEK_CUR) - done
        except OSError:
            return 0

    def _open(self) -> int:
        if self._fd is None:
            self._fd = open_append_fd(self.path)
            if not self._opened:
                self._opened = True
                prune(self.directory, self.name)
        return self._fd

    def _add(self, resource: str, first_seq: int, off: int, length: int) -> None:
        ext = self._index.get(resource)
        if ext is None:
            ext = self._index[resource] = Extents()
        grown = ext.add(first_seq, off, length)
        if grown is not ext:
            self._index[resource] = grown

    def close(self) -> None:
        close_fd(self._fd)
        self._fd = None

    # --- readers (after the store flushed) ----------------------------------------------

    def extents(self, resource: str) -> int:
        ext = self._index.get(resource)
        return 0 if ext is None else len(ext.offs)

    def newest_first(self, resource: str, before: int | None = None) -> Iterator[LogLine]:
        """`resource`'s lines in this run's file, newest first; from the extent holding seq `before` on."""
        ext = self._index.get(resource)
        if ext is None:
            return
        n = len(ext.offs)
        if before is not None:
            n = bisect.bisect_left(ext.seqs, before, 0, n)  # the extents after start at `before` or later
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - the generator owns it
        except OSError:
            return
        with f:
            for i in range(n - 1, -1, -1):
                off = ext.offs[i]
                for raw in _reversed_lines(f, off, off + ext.lens[i]):
                    line = records.parse(raw)
                    if line is not None and line.resource == resource:
                        yield line

    def oldest_first(self, resource: str) -> Iterator[LogLine]:
        ext = self._index.get(resource)
        if ext is None:
            return
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - the generator owns it
        except OSError:
            return
        with f:
            for i in range(len(ext.offs)):
                for raw in _lines(f, ext.offs[i], ext.offs[i] + ext.lens[i]):
                    line = records.parse(raw)
                    if line is not None and line.resource == resource:
                        yield line
