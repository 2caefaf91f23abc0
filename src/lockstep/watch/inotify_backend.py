"""Event-driven inotify watching on the asyncio loop (Linux).

One inotify instance, one watch per directory under the roots (inotify is not
recursive), none in ignored trees. The loop sleeps in the kernel between
events: no polling, no idle CPU.

Roots may be directories, files, or not exist yet. A missing root (or a file
root) is watched through its nearest existing ancestor, a *lookout*: only
entries that are roots, or lead to one, are acted on there. When a root or an
intermediate directory appears, watching moves down to it.

Races handled:
- a new directory gets its watch *before* it is scanned, and everything the
  scan finds is reported: files created before the watch landed are not lost;
- a directory moved away has its subtree's watches dropped (their paths are
  stale); one moved in is watched and scanned like a new one;
- IN_Q_OVERFLOW (the kernel dropped events) → re-walk the roots and report
  every path under them, so the engine sees a superset, never a gap.

The first walk over the roots runs in a worker thread: `deps=['/']` takes
seconds, and the event loop (API, signals, running updates) must not wait for
it. Events that arrive meanwhile queue in the kernel and are read afterwards.
Unreadable directories are skipped with one warning for the walk.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from asyncinotify import Event, Inotify, Mask, Watch

from lockstep.watch.backend import (
    DirFilter,
    PathsSink,
    WalkStats,
    WarnSink,
    is_under,
    nearest_existing,
    normalize_roots,
    walk,
    walk_warnings,
)

log = logging.getLogger(__name__)

_MASK = (
    Mask.MODIFY
    | Mask.ATTRIB
    | Mask.CLOSE_WRITE
    | Mask.MOVED_FROM
    | Mask.MOVED_TO
    | Mask.CREATE
    | Mask.DELETE
    | Mask.DELETE_SELF
    | Mask.MOVE_SELF
    | Mask.ONLYDIR
    # No events for files that were unlinked but are still open elsewhere.
    | Mask.EXCL_UNLINK
)
# Events read and handled before a batch is delivered: bounds latency when a
# writer floods the queue faster than we drain it.
MAX_BATCH_EVENTS = 8192


class InotifyBackend:
    def __init__(self, *, cache_size: int = 512) -> None:
        self._cache_size = cache_size
        self._ino: Inotify | None = None
        self._by_path: dict[str, Watch] = {}
        self._roots: tuple[str, ...] = ()
        self._ignored: DirFilter = lambda _p: False
        self._warned_limit = False
        self._warn: WarnSink = _log_warning
        self.overflows = 0

    def watched_dirs(self) -> frozenset[str]:
        """The directories that currently hold an inotify watch (introspection)."""
        return frozenset(self._by_path)

    async def run(self, roots: Sequence[str], ignored_dir: DirFilter, on_paths: PathsSink,
                  warn: WarnSink | None = None) -> None:
        self._roots = normalize_roots(roots)
        self._ignored = ignored_dir
        # Warnings raised during the first walk (in its thread) are delivered from here.
        pending: list[str] = []
        self._warn = pending.append
        # sync_timeout=0: sync_get() returns None instead of blocking, which is
        # how we drain what is already queued into one batch.
        ino = Inotify(cache_size=self._cache_size, sync_timeout=0)
        try:
            self._ino = ino
            first = _FirstWalk(ino)
            try:
                watches, stats, seconds = await asyncio.to_thread(self._first_walk, first)
                self._by_path.update(watches)
                self._warn = warn or _log_warning
                for text in [*pending, *walk_warnings(stats, self._roots, seconds)]:
                    self._warn(text)
                while True:
                    event = await ino.get()
                    batch: set[str] = set()
                    self._handle(event, batch)
                    for _ in range(MAX_BATCH_EVENTS):
                        more = ino.sync_get()
                        if more is None:
                            break
                        self._handle(more, batch)
                    if batch:
                        on_paths(batch)
            finally:
                # A walk still running in its thread must not add watches to this
                # inotify once it is closed (its descriptor may be reused at once).
                first.stop()
                self._ino = None
                self._by_path.clear()
        finally:
            _close_aside(ino)

    def _first_walk(self, first: _FirstWalk) -> tuple[dict[str, Watch], WalkStats, float]:
        """Watches for every root (in a worker thread): into a dict of its own, which the
        loop adopts only if this run is still current."""
        started = time.monotonic()
        stats = WalkStats()
        for root in self._roots:
            if not os.path.isdir(root):
                self._add_first(first, nearest_existing(os.path.dirname(root)))
                continue
            self._add_first(first, root)
            for path, is_dir in walk(root, self._ignored, stats, first.stopped):
                if is_dir and not self._ignored(path):
                    self._add_first(first, path)
        return first.watches, stats, time.monotonic() - started

    def _add_first(self, first: _FirstWalk, d: str) -> None:
        try:
            first.add(d)
        except OSError as e:
            self._watch_failed(d, e)

    # --- watches --------------------------------------------------------------

    def _add_watch(self, d: str) -> None:
        if d in self._by_path or self._ino is None:
            return
        try:
            self._by_path[d] = self._ino.add_watch(d, _MASK)
        except OSError as e:
            self._watch_failed(d, e)

    def _watch_failed(self, d: str, e: OSError) -> None:
        if e.errno == errno.ENOSPC and not self._warned_limit:
            self._warned_limit = True
            self._warn(f"watch: inotify watch limit reached at {d}: changes below it are not seen; "
                       "raise fs.inotify.max_user_watches or ignore large directories")
        # ENOENT/ENOTDIR: it went away meanwhile; its parent reports that.
        # EACCES: an unreadable directory; the walk reports those once.

    def _add_tree(self, top: str, batch: set[str] | None) -> None:
        """Watch `top` and every non-ignored directory beneath; report what is there."""
        self._add_watch(top)
        if batch is not None:
            batch.add(top)
        for path, is_dir in walk(top, self._ignored):
            if batch is not None:
                batch.add(path)
            if is_dir and not self._ignored(path):
                # Watch before walk() scans it (it is pushed, scanned later).
                self._add_watch(path)

    def _drop_tree(self, top: str) -> None:
        for d in [d for d in self._by_path if is_under(d, top)]:
            watch = self._by_path.pop(d)
            if self._ino is not None:
                with contextlib.suppress(OSError):  # already gone in the kernel
                    self._ino.rm_watch(watch)

    def _ensure_root(self, root: str, batch: set[str] | None) -> None:
        """Watch `root` if it exists, else a lookout on its nearest existing ancestor.

        With a batch (the root may just have appeared), report what exists.
        """
        if os.path.isdir(root):
            self._add_tree(root, batch)
            return
        self._add_watch(nearest_existing(os.path.dirname(root)))
        if batch is not None and os.path.lexists(root):
            batch.add(root)

    def _ensure_roots_below(self, d: str, batch: set[str]) -> None:
        for root in self._roots:
            if is_under(root, d):
                self._ensure_root(root, batch)

    def _in_roots(self, path: str) -> bool:
        return any(is_under(path, r) for r in self._roots)

    def _leads_to_root(self, path: str) -> bool:
        return any(is_under(r, path) for r in self._roots)

    def _rescan(self, batch: set[str]) -> None:
        self.overflows += 1
        for d in [d for d in self._by_path if not os.path.isdir(d)]:
            self._drop_tree(d)
        for root in self._roots:
            batch.add(root)
            self._ensure_root(root, batch)

    # --- events ---------------------------------------------------------------

    def _handle(self, event: Event, batch: set[str]) -> None:
        mask = event.mask
        if Mask.Q_OVERFLOW in mask:
            self._rescan(batch)
            return
        watch = event.watch
        if watch is None:
            return
        d = str(watch.path)
        if Mask.IGNORED in mask:
            # The kernel removed the watch (directory deleted, or rm_watch).
            if self._by_path.get(d) is watch:
                del self._by_path[d]
                if self._leads_to_root(d):
                    self._ensure_roots_below(d, batch)
            return
        if event.name is None:
            self._handle_self(d, mask, batch)
            return
        path = os.path.join(d, str(event.name))
        if Mask.ISDIR in mask:
            if mask & (Mask.CREATE | Mask.MOVED_TO):
                if self._in_roots(path):
                    if self._ignored(path):
                        batch.add(path)
                    else:
                        self._add_tree(path, batch)
                elif self._leads_to_root(path):
                    self._ensure_roots_below(path, batch)
                return
            if mask & (Mask.MOVED_FROM | Mask.DELETE):
                self._drop_tree(path)
        if self._in_roots(path):
            batch.add(path)

    def _handle_self(self, d: str, mask: Mask, batch: set[str]) -> None:
        """An event on a watched directory itself."""
        if self._in_roots(d):
            batch.add(d)
        if Mask.MOVE_SELF in mask and self._leads_to_root(d):
            # A root (or a lookout) moved away without a watched parent seeing
            # it: its watch paths are stale. Start over from what exists now.
            self._drop_tree(d)
            self._ensure_roots_below(d, batch)


def _close_aside(ino: Inotify) -> None:
    """Close the inotify descriptor on a thread of its own.

    Closing one waits for the kernel's grace period (fsnotify's synchronize_srcu): 8-20 ms
    here, which on the event loop would stop everything else, at every shutdown and reload.
    The loop no longer reads it (the reader goes with the cancelled `get`). Not a daemon: a
    process exit waits for it anyway (and `exit_now` joins it), but the rest of a shutdown
    (logs, history, the watchdog) goes on meanwhile."""
    threading.Thread(target=ino.close, name="lockstep-inotify-close").start()


def _log_warning(text: str) -> None:
    log.warning("%s", text)


class _FirstWalk:
    """The first walk's watches, and the switch that ends it (from the loop's side)."""

    def __init__(self, ino: Inotify) -> None:
        self._ino = ino
        self._lock = threading.Lock()
        self._stopped = False
        self.watches: dict[str, Watch] = {}

    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        # Waits at most for one add_watch() in progress.
        with self._lock:
            self._stopped = True

    def add(self, d: str) -> None:
        with self._lock:
            if not self._stopped and d not in self.watches:
                self.watches[d] = self._ino.add_watch(d, _MASK)


if TYPE_CHECKING:
    from lockstep.watch.backend import WatchBackend

    _backend: WatchBackend = InotifyBackend()
