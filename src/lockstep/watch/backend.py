"""The file-watching seam: one Protocol, two backends, shared root bookkeeping.

A backend watches only the roots it is given (the union of resources' deps,
never the whole repo), never descends into directories `ignored_dir` rejects,
and reports batches of absolute changed paths as soon as they are read. It does
not debounce: the engine's quiet window runs on the engine's (fake-able)
clock, and a watcher-side delay would only add latency and hide writers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

# One definition of path containment, shared with the engine's PathIndex.
from lockstep.model.paths import is_under as is_under

PathsSink = Callable[[set[str]], None]
DirFilter = Callable[[str], bool]


class WatchBackend(Protocol):
    async def run(self, roots: Sequence[str], ignored_dir: DirFilter, on_paths: PathsSink) -> None:
        """Watch until cancelled."""
        ...


def make_backend() -> WatchBackend:
    """inotify on Linux (event-driven, no idle CPU), watchfiles elsewhere."""
    if sys.platform.startswith("linux"):
        try:
            from lockstep.watch.inotify_backend import InotifyBackend

            return InotifyBackend()
        except ImportError:
            pass
    from lockstep.watch.watchfiles_backend import WatchfilesBackend

    return WatchfilesBackend()


def normalize_roots(roots: Sequence[str]) -> tuple[str, ...]:
    """Absolute, normalized, deduplicated; a root inside another root is dropped."""
    uniq = sorted({os.path.normpath(os.path.abspath(r)) for r in roots})
    out: list[str] = []
    for r in uniq:
        if not any(is_under(r, kept) for kept in out):
            out.append(r)
    return tuple(out)


def nearest_existing(path: str) -> str:
    """The closest existing ancestor directory of `path` (or `path` itself if a dir)."""
    p = path
    while not os.path.isdir(p):
        parent = os.path.dirname(p)
        if parent == p:
            return p
        p = parent
    return p


def walk(top: str, ignored_dir: DirFilter) -> Iterator[tuple[str, bool]]:
    """Every (path, is_dir) beneath `top`, not following symlinks, pruning ignored dirs.

    Ignored directories themselves are yielded (they changed) but not entered.
    """
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            continue
        with it:
            for entry in it:
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_dir = False
                yield entry.path, is_dir
                if is_dir and not ignored_dir(entry.path):
                    stack.append(entry.path)
