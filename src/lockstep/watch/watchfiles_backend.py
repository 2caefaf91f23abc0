"""Portable fallback backend on `watchfiles` (macOS, Windows; Linux if asked).

watchfiles' Rust watcher waits `step` ms for more events before returning a
batch; we keep `step` small and leave coalescing to the engine. Two
differences from the inotify backend, both inherent to the library:

- ignored directories are filtered, not skipped: `notify` watches the whole
  tree of a root (on macOS FSEvents is per tree anyway);
- it has one `recursive` flag per watcher, so directory roots get a recursive
  watcher and file / missing roots a non-recursive one on their nearest
  existing ancestor; when a missing root appears (or a root directory
  vanishes) both watchers are restarted and the new root's contents reported.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from watchfiles import Change, awatch

from lockstep.watch.backend import DirFilter, PathsSink, WarnSink, is_under, nearest_existing, normalize_roots, walk


class WatchfilesBackend:
    def __init__(self, *, step_ms: int = 10, debounce_ms: int = 200) -> None:
        # `step`: how long the Rust side waits for more events before
        # returning (the latency floor). `debounce`: the cap on one batch's
        # collection time under a continuous stream of events.
        self._step = step_ms
        self._debounce = debounce_ms
        self._ignored_cache: dict[str, bool] = {}

    async def run(self, roots: Sequence[str], ignored_dir: DirFilter, on_paths: PathsSink,
                  warn: WarnSink | None = None) -> None:
        # notify walks the roots in its own thread and skips what it may not read
        # (ignore_permission_denied), so there is nothing to warn about here.
        norm = normalize_roots(roots)
        self._ignored_cache.clear()

        def in_ignored_tree(path: str) -> bool:
            for root in norm:
                if is_under(path, root):
                    return self._under_ignored(root, path, ignored_dir)
            return False

        def keep(_change: Change, path: str) -> bool:
            return any(is_under(path, r) for r in norm) and not in_ignored_tree(path)

        while True:
            missing = await self._round(norm, keep, ignored_dir, on_paths)
            # Whatever appeared while no watcher was on it is new: report it all.
            appeared: set[str] = set()
            for r in missing:
                if os.path.lexists(r):
                    appeared.add(r)
                    if os.path.isdir(r):
                        appeared.update(p for p, _d in walk(r, ignored_dir))
            if appeared:
                on_paths(appeared)

    async def _round(
        self,
        norm: Sequence[str],
        keep: Callable[[Change, str], bool],
        ignored_dir: DirFilter,
        on_paths: PathsSink,
    ) -> list[str]:
        """Watch until the set of existing root directories changes.

        Returns the roots that were missing during this round.
        """
        dir_roots = [r for r in norm if os.path.isdir(r)]
        pending = [r for r in norm if not os.path.isdir(r)]
        missing = [r for r in pending if not os.path.lexists(r)]
        lookouts = sorted({nearest_existing(os.path.dirname(r)) for r in pending})
        replan = asyncio.Event()

        async def pump(paths: list[str], recursive: bool) -> None:
            async for changes in awatch(
                *paths,
                watch_filter=None,
                debounce=self._debounce,
                step=self._step,
                recursive=recursive,
                ignore_permission_denied=True,
            ):
                batch = {p for c, p in changes if keep(c, p)}
                # notify adds its watch on a new directory after the fact: files
                # created in it before that are never reported. Scan new
                # directories, as the inotify backend does.
                for p in [p for c, p in changes if c == Change.added and p in batch]:
                    if os.path.isdir(p) and not os.path.islink(p) and not ignored_dir(p):
                        batch.update(q for q, _d in walk(p, ignored_dir) if keep(Change.added, q))
                if batch:
                    on_paths(batch)
                if self._needs_replan({p for _c, p in changes}, dir_roots, pending):
                    replan.set()
                    return

        async with asyncio.TaskGroup() as tg:
            tasks = []
            if dir_roots:
                tasks.append(tg.create_task(pump(dir_roots, True)))
            if lookouts:
                tasks.append(tg.create_task(pump(lookouts, False)))
            await replan.wait()
            for t in tasks:
                t.cancel()
        return missing

    @staticmethod
    def _needs_replan(raw: set[str], dir_roots: list[str], pending: list[str]) -> bool:
        if any(not os.path.isdir(r) for r in dir_roots):
            return True
        for p in raw:
            for r in pending:
                if is_under(r, p) and os.path.isdir(p):
                    return True  # the root, or a directory on the way to it
        return False

    def _under_ignored(self, root: str, path: str, ignored_dir: DirFilter) -> bool:
        """Whether some directory between `root` (exclusive) and `path` is ignored."""
        if len(self._ignored_cache) > 100_000:
            self._ignored_cache.clear()
        d = os.path.dirname(path)
        chain: list[str] = []
        result = False
        while d != root and is_under(d, root):
            cached = self._ignored_cache.get(d)
            if cached is not None:
                result = cached
                break
            chain.append(d)
            d = os.path.dirname(d)
        # Top-down: below an ignored directory everything is ignored.
        for c in reversed(chain):
            result = result or ignored_dir(c)
            self._ignored_cache[c] = result
        return result


if TYPE_CHECKING:
    from lockstep.watch.backend import WatchBackend

    _backend: WatchBackend = WatchfilesBackend()
