"""LogStore alone: appends/s, since() cost and peak RSS, in memory and to disk (the former bench/log_store.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

from lsbench.common import Context, measured, metric

CHILD = '''\
import json, resource, sys, time
from lockstep.logs.store import LogSource, LogStore
n, directory = int(sys.argv[1]), sys.argv[2] or None
store = LogStore(directory)
names = [f"res-{i}" for i in range(20)]
text = "GET /api/pets 200 in 3.2ms - some typical log line of moderate length"
t0 = time.perf_counter()
for i in range(n):
    store.append(names[i % 20], LogSource.RUNTIME, text, 1.0 + i)
store.close()
dt = time.perf_counter() - t0
t1 = time.perf_counter()
page = store.since(n - 1000)
print(json.dumps({"rate": n / dt, "since_ms": (time.perf_counter() - t1) * 1000,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def run(ctx: Context) -> dict[str, Any]:
    n = ctx.pick(1_000_000, 100_000, 2_000)
    reps = ctx.pick(3, 1, 1)
    figures: dict[str, list[dict[str, float]]] = {"memory only": [], "disk": []}
    for _ in range(reps):
        for where in figures:
            with tempfile.TemporaryDirectory(dir=ctx.tmp) as d:
                out = subprocess.run([sys.executable, "-c", CHILD, str(n), d if where == "disk" else ""],
                                     capture_output=True, text=True, check=True)
            figures[where].append(json.loads(out.stdout))
    rows = []
    for where, runs in figures.items():
        rows.append(metric(f"{n:,} appends, {where}", "lockstep", "lines/s", [r["rate"] for r in runs],
                           since_last_1000_ms=min(r["since_ms"] for r in runs),
                           max_rss_mb=max(r["rss_mb"] for r in runs)))
    return {
        "title": "Log store alone",
        "method": f"{n:,} appends over 20 resources in a fresh process, then since() of the last 1,000 lines.",
        "metrics": rows,
        "summary": [measured([r], f"log store alone, {r['case']}: appends/s (median)", "median", "lines/s")
                    for r in rows],
    }
