"""Helpers for watcher tests: collect batches, wait on state, handshake readiness."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator, Callable, Sequence

from lockstep.watch.backend import WatchBackend

_n = itertools.count()


class Collector:
    def __init__(self) -> None:
        self.batches: list[set[str]] = []
        self.paths: set[str] = set()

    def __call__(self, batch: set[str]) -> None:
        self.batches.append(set(batch))
        self.paths |= batch

    def clear(self) -> None:
        self.batches.clear()
        self.paths.clear()


async def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Bounded polling on a predicate over collected state (not a timing assumption)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def handshake(col: Collector, directory: str) -> None:
    """Write a marker file until the watcher reports it: the watcher is now live.

    Backends set up asynchronously (watchfiles in a thread), so tests write
    only after this returns, then start from an empty collector.
    """
    path = os.path.join(directory, f".handshake-{next(_n)}")
    for _ in range(400):
        with open(path, "a") as f:
            f.write("x")
        if await wait_for(lambda: path in col.paths, timeout=0.05):
            break
    else:
        raise AssertionError("watcher never reported the handshake file")
    # Its remaining write events, then its deletion: seen once the deletion
    # is reported, so none of them leaks into the test's collector.
    col.clear()
    os.unlink(path)
    assert await wait_for(lambda: path in col.paths and not os.path.exists(path))
    col.clear()


@contextlib.asynccontextmanager
async def watching(
    backend: WatchBackend, roots: Sequence[str], ignored: Callable[[str], bool] = lambda p: False
) -> AsyncIterator[Collector]:
    col = Collector()
    task = asyncio.create_task(backend.run(roots, ignored, col))
    try:
        yield col
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
