"""Write → on_paths latency (p50/p95) for the inotify and watchfiles backends.

    .venv/bin/python bench/watch_latency.py [N]

Each sample writes one file and measures until the backend delivers its path.
This is the watcher's share of "edit → command start"; the engine's quiet
window comes on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time

from lockstep.watch.backend import WatchBackend
from lockstep.watch.watchfiles_backend import WatchfilesBackend


async def measure(backend: WatchBackend, root: str, n: int) -> list[float]:
    seen: dict[str, float] = {}
    arrived = asyncio.Event()

    def on_paths(paths: set[str]) -> None:
        now = time.perf_counter()
        for p in paths:
            seen.setdefault(p, now)
        arrived.set()

    task = asyncio.create_task(backend.run([root], lambda d: False, on_paths))
    try:
        # Handshake: the watcher is live once it reports a write.
        probe = os.path.join(root, "probe")
        while probe not in seen:
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
            samples.append(seen[path] - t0)
            # Let trailing events of this write (CLOSE_WRITE) pass before the next.
            await asyncio.sleep(0.01)
        return samples
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def report(name: str, samples: list[float]) -> None:
    ms = sorted(s * 1e3 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"{name:28s} n={len(ms):4d}  p50 {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   max {ms[-1]:7.2f} ms")


async def main(n: int) -> None:
    backends: list[tuple[str, WatchBackend]] = []
    if sys.platform.startswith("linux"):
        from lockstep.watch.inotify_backend import InotifyBackend

        backends.append(("inotify", InotifyBackend()))
    backends.append(("watchfiles (step 10 ms)", WatchfilesBackend()))
    backends.append(("watchfiles (step 50 ms)", WatchfilesBackend(step_ms=50)))
    for name, backend in backends:
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "sub"))
            report(name, await measure(backend, root, n))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
