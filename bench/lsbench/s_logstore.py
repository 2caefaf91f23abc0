"""LogStore alone: appends/s, since() cost, peak RSS and bytes on disk, in memory and to disk (the former
bench/log_store.py); and the cost of the lines each update of `ci` logs, on the event loop and on the writer thread."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

from lsbench.common import Context, measured, metric

CHILD = '''\
import json, os, resource, sys, time
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
disk = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory)) if directory else 0
print(json.dumps({"rate": n / dt, "since_ms": (time.perf_counter() - t1) * 1000,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "disk_mb": disk / 1e6}))
'''

# What `ci` logs for each update of a `true` command, the engine's way: "Update #N starting"
# (Engine.log) and "Running cmd: true" (Engine.log_output, whose level is read from the text),
# printed by the terminal's StreamPrinter, one update per turn of the event loop. Main-thread
# CPU is what the event loop pays; the rest of the process's CPU is the writer thread's.
PER_UPDATE = '''
import asyncio, json, os, resource, sys, time
from lockstep.logs.levels import level_of
from lockstep.logs.store import LogLevel, LogSource, LogStore, LogStream
from lockstep.ui.terminal import StreamPrinter
n, directory = int(sys.argv[1]), sys.argv[2]
store = LogStore(directory)
names = [f"r{i // 250}_{i % 250}" for i in range(n)]
out = open(os.devnull, "w")
store.subscribe(StreamPrinter(out, names=lambda: names))

def cpu(who):
    ru = resource.getrusage(who)
    return ru.ru_utime, ru.ru_stime

async def main():
    for i, name in enumerate(names):
        store.append(name, LogSource.SYSTEM, f"Update #{i + 1} starting: Initial build", time.time(), LogLevel.INFO)
        text = "Running cmd: true"
        store.append(name, LogSource.BUILD, text, time.time(), level_of(text), LogStream.STDOUT)
        await asyncio.sleep(0)

p0, m0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_THREAD)
asyncio.run(main())
m1 = cpu(resource.RUSAGE_THREAD)
store.close()
p1 = cpu(resource.RUSAGE_SELF)
main_s = sum(m1) - sum(m0)
# The writer's user time holds the interpreter; its system time (the writes to the run log) does not.
writer_user = (p1[0] - p0[0]) - (m1[0] - m0[0])
writer_sys = (p1[1] - p0[1]) - (m1[1] - m0[1])
print(json.dumps({"main_us_per_update": main_s / n * 1e6, "writer_user_us_per_update": writer_user / n * 1e6,
                  "writer_sys_us_per_update": writer_sys / n * 1e6}))
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
    updates = ctx.pick(5_000, 5_000, 200)
    per_update: list[dict[str, float]] = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(dir=ctx.tmp) as d:
            out = subprocess.run([sys.executable, "-c", PER_UPDATE, str(updates), d],
                                 capture_output=True, text=True, check=True)
        per_update.append(json.loads(out.stdout))
    rows = []
    for where, runs in figures.items():
        rows.append(metric(f"{n:,} appends, {where}", "lockstep", "lines/s", [r["rate"] for r in runs],
                           since_last_1000_ms=min(r["since_ms"] for r in runs),
                           max_rss_mb=max(r["rss_mb"] for r in runs), disk_mb=max(r["disk_mb"] for r in runs)))
    rows.append(metric(f"{updates:,} updates' lines, event loop", "lockstep", "µs per update",
                       [r["main_us_per_update"] for r in per_update]))
    rows.append(metric(f"{updates:,} updates' lines, writer thread (user)", "lockstep", "µs per update",
                       [r["writer_user_us_per_update"] for r in per_update]))
    rows.append(metric(f"{updates:,} updates' lines, writer thread (system)", "lockstep",
                       "µs per update", [r["writer_sys_us_per_update"] for r in per_update]))
    return {
        "title": "Log store alone",
        "method": (f"{n:,} appends over 20 resources in a fresh process, then since() of the last 1,000 lines; "
                   f"then the two lines `ci` logs per update of a `true` command, for {updates:,} resources "
                   f"(level read from the text, printed by the terminal's stream printer, one update per "
                   f"turn of the event loop): CPU per update on the event loop and on the writer thread "
                   f"(user time, which holds the interpreter, and system time)."),
        "metrics": rows,
        "summary": [measured([r], f"log store alone, {r['case']}: {r['unit'].replace('lines/s', 'appends/s')} "
                              "(median)", "median", r["unit"]) for r in rows],
    }
