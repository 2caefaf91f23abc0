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
from dataclasses import dataclass
from typing import Protocol

# One definition of path containment, shared with the engine's PathIndex.
from lockstep.model.paths import is_under as is_under

PathsSink = Callable[[set[str]], None]
DirFilter = Callable[[str], bool]
# Receives one-line warnings for the user (unreadable or huge watched trees).
WarnSink = Callable[[str], None]

# A first walk past either of these gets a warning with its size and duration: the
# user probably watches more than the builds read (deps=['/'], a node_modules).
HUGE_TREE_ENTRIES = 200_000
SLOW_WALK_SECS = 3.0


class WatchBackend(Protocol):
    async def run(self, roots: Sequence[str], ignored_dir: DirFilter, on_paths: PathsSink,
                  warn: WarnSink | None = None) -> None:
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


@dataclass
class WalkStats:
    """What a walk saw: how many entries, and which directories it could not read."""

    entries: int = 0
    unreadable: int = 0
    first_unreadable: str = ""

    def skipped(self, path: str, exc: OSError) -> None:
        if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            return  # gone meanwhile: a race, not an unreadable directory
        self.unreadable += 1
        if not self.first_unreadable:
            self.first_unreadable = f"{path}: {exc.strerror or exc}"


def walk(top: str, ignored_dir: DirFilter, stats: WalkStats | None = None,
         stop: Callable[[], bool] | None = None) -> Iterator[tuple[str, bool]]:
    """Every (path, is_dir) beneath `top`, not following symlinks, pruning ignored dirs.

    Ignored directories themselves are yielded (they changed) but not entered.
    A directory that cannot be read is skipped (and counted in `stats`); `stop`
    ends the walk early.
    """
    stack = [top]
    while stack and not (stop is not None and stop()):
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError as exc:
            if stats is not None:
                stats.skipped(d, exc)
            continue
        with it:
            try:
                # Opening can succeed where listing fails (/proc/1/map_files: EACCES).
                for entry in it:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if stats is not None:
                        stats.entries += 1
                    yield entry.path, is_dir
                    if stop is not None and stop():
                        return
                    if is_dir and not ignored_dir(entry.path):
                        stack.append(entry.path)
            except OSError as exc:
                if stats is not None:
                    stats.skipped(d, exc)


def walk_warnings(stats: WalkStats, roots: Sequence[str], seconds: float) -> list[str]:
    """The warnings one walk over `roots` deserves: one for unreadable directories, one if huge."""
    out = []
    where = ", ".join(roots[:3]) + (f" and {len(roots) - 3} more" if len(roots) > 3 else "")
    if stats.unreadable:
        n = stats.unreadable
        out.append(f"watch: skipped {n} unreadable director{'y' if n == 1 else 'ies'} under {where} "
                   f"(first: {stats.first_unreadable}); changes there are not seen")
    if stats.entries >= HUGE_TREE_ENTRIES or seconds >= SLOW_WALK_SECS:
        out.append(f"watch: {stats.entries:,} files and directories under {where} took {seconds:.1f} s "
                   "to scan; ignore what no build reads (ignore=, .tiltignore, watch_settings(ignore=))")
    return out
