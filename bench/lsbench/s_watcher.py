"""lockstep's watch backends alone: write -> the backend reports the path (the former bench/watch_latency.py).

This is the watcher's share of "edit -> command start"; the engine's quiet
window and the process start come on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
from typing import Any

from lsbench.common import Context, interleaved, measured, metric


async def _measure(backend: Any, root: str, n: int) -> list[float]:
    seen: dict[str, float] = {}
    arrived = asyncio.Event()

    def on_paths(paths: set[str]) -> None:
        now = time.perf_counter()
        for p in paths:
            seen.setdefault(p, now)
        arrived.set()

    task = asyncio.create_task(backend.run([root], lambda d: False, on_paths))
    try:
        probe = os.path.join(root, "probe")
        while probe not in seen:  # the watcher is live once it reports a write
            with open(probe, "w") as f:
                f.write("x")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), 0.1)
        samples: list[float] = []
        for i in range(n):
            path = os.path.join(root, "sub", f"f{i % 10}.txt")
            seen.pop(path, None)
            arrived.clear()
            t0 = time.perf_counter()
            with open(path, "w") as f:
                f.write(str(i))
            while path not in seen:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 10)
            samples.append((seen[path] - t0) * 1000)
            await asyncio.sleep(0.01)  # let this write's trailing events pass
        return samples
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _backend(name: str) -> Any:
    if name == "inotify":
        from lockstep.watch.inotify_backend import InotifyBackend

        return InotifyBackend()
    from lockstep.watch.watchfiles_backend import WatchfilesBackend

    return WatchfilesBackend(step_ms=int(name.split()[-1]))


def run(ctx: Context) -> dict[str, Any]:
    names = (["inotify"] if sys.platform.startswith("linux") else []) + ["watchfiles step 10", "watchfiles step 50"]
    reps, per_round = ctx.pick(5, 2, 1), ctx.pick(40, 15, 5)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for _, name in interleaved(names, reps, random.Random(ctx.seed)):
        with tempfile.TemporaryDirectory(dir=ctx.tmp) as root:
            os.makedirs(os.path.join(root, "sub"))
            samples[name] += asyncio.run(_measure(_backend(name), root, per_round))
    rows = [metric("write -> path reported", f"lockstep ({n})", "ms", samples[n]) for n in names]
    return {
        "title": "lockstep's watch backends alone: write → event",
        "method": (f"One file written at a time under a watched directory, until the backend reports its path; "
                   f"{reps} interleaved rounds of {per_round} writes per backend, in-process."),
        "metrics": rows,
        "summary": [measured(rows, "watcher alone: write → path reported (p95)", "p95", "ms")],
    }
