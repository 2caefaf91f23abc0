"""Reading a finished run's log without its engine: what `lockstep logs NAME` shows when nothing runs.

A run file interleaves resources batch by batch; one scan picks out the lines
of the wanted resources (parsing only the records whose `res` field matches)
and merges them by seq. Gap notes (seq 0) stay where they were written, just
before the next line of their resource.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from heapq import merge

from lockstep.logs import records
from lockstep.logs.line import LogLine
from lockstep.logs.runfile import run_files


def newest_run(directory: str) -> str | None:
    """The path of the newest run log in `directory`, or None."""
    runs = run_files(directory)
    return os.path.join(directory, runs[-1]) if runs else None


def _scan(path: str, resources: Collection[str] | None) -> Iterator[LogLine]:
    wanted = None if resources is None else [n for r in resources for n in records.needles(r)]
    with open(path, "rb") as f:
        for raw in f:
            if wanted is not None and not any(n in raw for n in wanted):
                continue
            line = records.parse(raw)  # None for a torn line: skipped, the rest is readable
            if line is not None and (resources is None or line.resource in resources):
                yield line


def read_run(path: str, resources: Collection[str] | None = None) -> list[LogLine]:
    """The lines of `resources` (all when None) in the run file at `path`, in seq order."""
    by_resource: dict[str, list[LogLine]] = {}
    for line in _scan(path, None if resources is None else frozenset(resources)):
        by_resource.setdefault(line.resource, []).append(line)
    return [line for _, line in merge(*(_keyed(lines) for lines in by_resource.values()), key=lambda kl: kl[0])]


def _keyed(lines: list[LogLine]) -> list[tuple[int, LogLine]]:
    """One resource's lines (file order, which is seq order) with merge keys: a gap note takes the seq
    of the line after it, so that it sorts right before that line."""
    out: list[tuple[int, LogLine]] = []
    following = 1 << 62
    for line in reversed(lines):
        if line.seq:
            following = line.seq
        out.append((following, line))
    out.reverse()
    return out
