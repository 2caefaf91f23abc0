"""Edit -> command start, one resource: latency beyond the debounce window, vs entr, watchmedo, chokidar."""

from __future__ import annotations

import random
import time
from typing import Any

from lsbench import watchers
from lsbench.common import Context, goal_row, interleaved, metric, wait_for

DEBOUNCE = 0.2
GOAL_P95_MS = 15.0


def run(ctx: Context) -> dict[str, Any]:
    tools = [t for t in watchers.WATCHERS if t == "lockstep" or t in ctx.peers]
    reps = ctx.pick(40, 6, 3)
    running: dict[str, watchers.Watcher] = {}
    samples: dict[str, list[float]] = {t: [] for t in tools}
    misses: dict[str, int] = dict.fromkeys(tools, 0)
    try:
        for tool in tools:
            root = ctx.tmp / "edit" / tool
            (root / "src").mkdir(parents=True)
            (root / "src" / "f.txt").write_text("0")
            running[tool] = watchers.start(tool, ctx.peers.get(tool, ""), root, "src/f.txt", DEBOUNCE)
        for w in running.values():
            wait_for(lambda w=w: w.starts(), 60, 0.01)  # each runs its command once at start
        time.sleep(1.0)
        for rep, tool in interleaved(tools, reps, random.Random(ctx.seed)):
            w = running[tool]
            before = len(w.starts())
            edited = time.time()
            (ctx.tmp / "edit" / tool / "src" / "f.txt").write_text(f"edit {rep}")
            try:
                new = wait_for(lambda w=w, b=before: w.starts()[b:], 5, 0.001)
                samples[tool].append((new[0] - edited - w.window) * 1000)
            except TimeoutError:
                misses[tool] += 1
            time.sleep(DEBOUNCE + 0.2)  # let trailing events and restarts settle before the next edit
    finally:
        for w in running.values():
            w.stop()
    rows = [metric("edit -> start", t, "ms", samples[t], window_ms=running[t].window * 1000, misses=misses[t])
            for t in tools if t in running]
    return {
        "title": "Edit → command start, one resource",
        "method": (f"Each tool watches its own copy of one file and runs `date +%s.%N >> stamps` on change, "
                   f"debounce {DEBOUNCE * 1000:.0f} ms (entr has none: 0). All tools run at once; the file of "
                   f"one tool is edited at a time, in a shuffled order per round, {reps} rounds. Figure: command "
                   f"start time minus edit time minus the tool's debounce window."),
        "metrics": rows,
        "summary": [goal_row(rows, "edit → command start beyond the debounce window (p95)", "p95", GOAL_P95_MS, "ms")],
    }

