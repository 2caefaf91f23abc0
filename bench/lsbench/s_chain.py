"""Propagation along a chain of no-op resources under `lockstep up`: edit -> last start, per hop."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from lsbench.common import LOCKSTEP, Context, goal_row, metric, stop, wait_for

HOPS = 10
QUIET = 0.2
GOAL_MS_PER_HOP = 3.0


def _records(history: Path) -> list[dict[str, Any]]:
    out = []
    try:
        text = history.read_text()
    except OSError:
        return []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line being written
        if "resource" in record:  # not a graph line (engine/persist.py)
            out.append(record)
    return out


def run(ctx: Context) -> dict[str, Any]:
    reps = ctx.pick(30, 10, 2)
    names = [f"r{i}" for i in range(HOPS + 1)]
    (ctx.tmp / "src").mkdir()
    (ctx.tmp / "src" / "f.txt").write_text("0")
    lines = ["local_resource('r0', cmd='true', deps=['src'])"]
    lines += [f"local_resource({n!r}, cmd='true', resource_deps=[{names[i]!r}])" for i, n in enumerate(names[1:])]
    (ctx.tmp / "Tiltfile").write_text("\n".join(lines) + "\n")
    state = ctx.tmp / ".state"
    proc = subprocess.Popen([LOCKSTEP, "up", "--stream", "--port", "0", "--quiet-window", f"{QUIET * 1000:g}ms",
                             "-f", str(ctx.tmp / "Tiltfile")], cwd=ctx.tmp,
                            env={**os.environ, "LOCKSTEP_STATE_DIR": str(state)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    total: list[float] = []
    per_hop: list[float] = []
    gaps: list[float] = []
    try:
        history = wait_for(lambda: next(state.rglob("history.jsonl"), None), 60, 0.01)

        def finished(after: float) -> dict[str, dict[str, Any]] | None:
            done = {r["resource"]: r for r in _records(history) if r["start"] >= after and r.get("end")}
            return done if all(n in done for n in names) else None

        wait_for(lambda: finished(0.0), 60, 0.01)
        time.sleep(0.5)
        for rep in range(reps):
            edited = time.time()
            (ctx.tmp / "src" / "f.txt").write_text(f"edit {rep}")
            done = wait_for(lambda e=edited: finished(e), 30, 0.002)
            starts = [done[n]["start"] for n in names]
            total.append((starts[-1] - edited - QUIET) * 1000)
            per_hop.append((starts[-1] - starts[0]) / HOPS * 1000)
            gaps += [(done[n]["start"] - done[names[i]]["end"]) * 1000 for i, n in enumerate(names[1:])]
            time.sleep(0.3)
    finally:
        stop(proc)
    rows = [metric("edit -> last start, beyond the quiet window", "lockstep", "ms", total),
            metric("first start -> last start, per hop", "lockstep", "ms", per_hop),
            metric("upstream end -> downstream start (one hop's overhead)", "lockstep", "ms", gaps)]
    return {
        "title": f"Propagation along a {HOPS}-hop chain of no-op resources",
        "method": (f"`lockstep up` with r0 watching one file and r1..r{HOPS} each depending on the one before, "
                   f"all running `true`; {reps} edits. Start and end times come from the run's history. Per "
                   f"hop = (start of r{HOPS} - start of r0) / {HOPS}, which includes running each `true`."),
        "metrics": rows,
        "summary": [goal_row(rows, f"{HOPS}-hop chain of no-op resources: edit → last start, per hop (median)",
                             "median",
                             GOAL_MS_PER_HOP, "ms",
                             "first start -> last start, per hop")],
    }
