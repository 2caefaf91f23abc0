"""Paging backwards through a resource's log: the scroll-back of the dashboard.

Memory holds each resource's last lines; older ones are only on disk. A page
of the `limit` lines before `before` comes from memory when memory reaches
that far back, and otherwise from this run's log file: only the resource's own
extents of it (the run file's index), from the one holding `before`
backwards, read in blocks from their ends.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from heapq import merge

from lockstep.logs.store import LogLine, LogStore


def this_run_newest_first(store: LogStore, resource: str, before: int | None = None) -> Iterator[LogLine]:
    """The resource's lines on disk from this run, newest first (flushed first, so none is missing);
    with `before`, it may start at the newest extent that holds lines older than `before`."""
    return store.newest_first_on_disk(resource, before)


def _disk_before(store: LogStore, resource: str, before: int, limit: int) -> list[LogLine]:
    out: list[LogLine] = []
    for line in this_run_newest_first(store, resource, before):
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
