"""Paging backwards through a resource's log: the scroll-back of the dashboard.

Memory holds each resource's last lines; older ones are only on disk. A page
of the `limit` lines before `before` comes from memory when memory reaches
that far back, and otherwise from the end of the resource's file, read
backwards in blocks, so a page costs the same at the start of a 1 GB log as at
its end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterator
from heapq import merge

from lockstep.logs.store import LogLevel, LogLine, LogSource, LogStore, LogStream

_BLOCK = 1 << 16


def reversed_lines(path: str) -> Iterator[bytes]:
    """The lines of a file, last first, reading fixed-size blocks from the end."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - the generator owns it
    except FileNotFoundError:
        return
    with f:
        pos = f.seek(0, os.SEEK_END)
        rest = b""
        while pos > 0:
            step = min(_BLOCK, pos)
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


def parse_line(resource: str, raw: bytes) -> LogLine | None:
    try:
        d = json.loads(raw)
        return LogLine(int(d["seq"]), resource, LogSource(d["src"]), LogLevel(d["lvl"]), float(d["at"]),
                       str(d["text"]), LogStream(d.get("str", "none")))
    except (ValueError, KeyError, TypeError):
        return None  # a torn last line (a crash mid-write): skip it, the rest is readable


def this_run_newest_first(store: LogStore, resource: str) -> Iterator[LogLine]:
    """The resource's lines on disk from this run, newest first (flushed first, so none is missing)."""
    if store.directory is None:
        return
    store.flush()
    newer = 1 << 62
    for raw in reversed_lines(store.path_for(resource)):
        line = parse_line(resource, raw)
        if line is None:
            continue
        if line.seq >= newer:
            return  # seqs restart with each run: this line is from an earlier run's log, not this one's
        newer = line.seq
        yield line


def _disk_before(store: LogStore, resource: str, before: int, limit: int) -> list[LogLine]:
    out: list[LogLine] = []
    for line in this_run_newest_first(store, resource):
        if line.seq >= before:
            continue
        out.append(line)
        if len(out) >= limit:
            break
    out.reverse()
    return out


def _one_before(store: LogStore, resource: str, before: int, limit: int) -> list[LogLine]:
    held = store.tail(resource, 1 << 30)
    older = [x for x in held if x.seq < before]
    # Memory is enough when it returns a full page, or when it holds the resource's first line ever.
    if len(older) >= limit:
        return older[-limit:]
    if store.holds_all(resource):
        return older
    return _disk_before(store, resource, before, limit)


def lines_before(store: LogStore, resources: Collection[str], before: int, limit: int) -> list[LogLine]:
    """The last `limit` lines of `resources` with seq < `before`, oldest first."""
    pages = [_one_before(store, r, before, limit) for r in resources]
    return list(merge(*pages, key=lambda line: line.seq))[-limit:]
