"""Micro-benchmark: LogStore appends/s, since() cost and RSS, with and without disk."""

from __future__ import annotations

import resource
import sys
import tempfile
import time

from lockstep.logs.store import LogSource, LogStore


def rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int, directory: str | None) -> None:
    store = LogStore(directory)
    names = [f"res-{i}" for i in range(20)]
    text = "GET /api/pets 200 in 3.2ms — some typical log line of moderate length"
    t0 = time.perf_counter()
    for i in range(n):
        store.append(names[i % 20], LogSource.RUNTIME, text, 1.0 + i)
    store.close()
    dt = time.perf_counter() - t0
    t1 = time.perf_counter()
    page = store.since(n - 1000)
    dts = (time.perf_counter() - t1) * 1e3
    where = "disk" if directory else "memory only"
    print(
        f"{where:12s}: {n:,} appends in {dt:.2f} s = {n / dt:,.0f}/s; "
        f"since(last 1000) {dts:.2f} ms ({len(page)} lines); max RSS {rss_mb():.0f} MB"
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    run(n, None)
    with tempfile.TemporaryDirectory() as d:
        run(n, d)
