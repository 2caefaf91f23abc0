"""Idle cost: CPU and RSS of each watcher over a quiet tree of 10k / 100k files plus an ignored node_modules."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from lsbench import watchers
from lsbench.common import Context, children, cpu_seconds, goal_row, metric, rss_mb, wait_for

GOAL_CPU_PCT = 0.5
GOAL_RSS_MB = 120.0
PER_DIR = 100
SLICES = 6


def make_tree(root: Path, files: int) -> None:
    """`files` files under src/, and a node_modules-like tree of files/2 more that every tool ignores."""
    for d in range(max(1, files // PER_DIR)):
        sub = root / "src" / f"pkg{d // 50}" / f"mod{d}"
        sub.mkdir(parents=True)
        for i in range(PER_DIR):
            (sub / f"f{i}.py").write_text("x = 1\n")
    for d in range(max(1, files // 2 // PER_DIR)):
        sub = root / "src" / watchers.NODE_MODULES / f"dep{d // 20}" / f"lib{d}"
        sub.mkdir(parents=True)
        for i in range(PER_DIR):
            (sub / f"i{i}.js").touch()


def groups(tools: list[str], files: int) -> list[list[str]]:
    """Tools that can share one window without exhausting the user's inotify watches.

    entr and chokidar hold a watch per file, the others one per directory.
    """
    try:
        limit = int(Path("/proc/sys/fs/inotify/max_user_watches").read_text()) * 0.7
    except (OSError, ValueError):
        limit = 8192 * 0.7
    out: list[list[str]] = []
    used = 0.0
    for tool in tools:
        cost = files * 1.1 if tool in ("entr", "chokidar") else files / PER_DIR * 1.1 + 100
        if not out or used + cost > limit:
            out.append([])
            used = 0.0
        out[-1].append(tool)
        used += cost
    return out


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.pick([10_000, 100_000], [10_000, 20_000], [200])
    window = ctx.pick(60.0, 4.0, 1.0)
    settle = ctx.pick(5.0, 2.0, 0.5)
    tools = [t for t in watchers.WATCHERS if t == "lockstep" or t in ctx.peers]
    rng = random.Random(ctx.seed)
    rows: list[dict[str, Any]] = []
    for files in sizes:
        tree = ctx.tmp / f"tree-{files}"
        t0 = time.monotonic()
        make_tree(tree, files)
        ctx.log(f"  {files:,} files written in {time.monotonic() - t0:.1f} s")
        order = list(tools)
        rng.shuffle(order)
        for group in groups(order, files):
            running: dict[str, watchers.Watcher] = {}
            ready: dict[str, float] = {}
            try:
                for tool in group:
                    launched = time.monotonic()
                    running[tool] = watchers.start(tool, ctx.peers.get(tool, ""), tree, "src", 0.2, f"-{tool}")
                    wait_for(running[tool].starts, 300, 0.01)
                    ready[tool] = time.monotonic() - launched
                time.sleep(settle)  # past the initial scans
                # The window is cut in slices, one CPU sample each, so that a burst of load from
                # elsewhere shows as one outlying sample rather than skewing the only figure.
                pids = {t: children(w.proc.pid) for t, w in running.items()}
                cpu: dict[str, list[float]] = {t: [] for t in running}
                w0 = time.monotonic()
                for _ in range(SLICES):
                    c0, t0 = {t: cpu_seconds(p) for t, p in pids.items()}, time.monotonic()
                    time.sleep(window / SLICES)
                    elapsed = time.monotonic() - t0
                    for tool, w in running.items():
                        pids[tool] = children(w.proc.pid)
                        cpu[tool].append((cpu_seconds(pids[tool]) - c0[tool]) / elapsed * 100)
                for tool in running:
                    rows.append(metric(f"{files:,} files", tool, "% CPU", cpu[tool], mean=sum(cpu[tool]) / SLICES,
                                       rss_mb=rss_mb(pids[tool]),
                                       ready_s=ready[tool], window_s=time.monotonic() - w0,
                                       alongside=sorted(group)))
            finally:
                for w in running.values():
                    w.stop()
    summary = []
    for files in sizes:
        case = f"{files:,} files"
        summary.append(goal_row(rows, f"idle, {case} watched: CPU (mean over the window)", "mean",
                                GOAL_CPU_PCT, "% of a core", case))
        rss = [{**r, "median": r["rss_mb"]} for r in rows if r["case"] == case]
        summary.append(goal_row(rss, f"idle, {case} watched: RSS", "median", GOAL_RSS_MB, "MB", case))
    return {
        "title": "Idle: CPU and RSS with many watched files",
        "method": (f"A tree of N files under src/ plus a node_modules tree of N/2 files that every tool is told "
                   f"to ignore (lockstep `ignore=`, watchmedo -i, chokidar -i; entr is given the file list "
                   f"without it). Tools that fit the inotify watch limit together share one {window:g} s "
                   f"window, cut in {SLICES} slices: one CPU sample per slice (the whole process tree's user+system "
                   f"time over the slice), RSS at the end. "
                   f"`ready` is launch to first command start (the initial scan)."),
        "metrics": rows,
        "summary": summary,
    }
