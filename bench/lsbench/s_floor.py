"""The start-path floor: 1,000 `true` at concurrency 2, bare asyncio and lockstep's path vs make -j2."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from lsbench.common import Context, goal_row, interleaved, metric, run_timed

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "asyncio": "bare asyncio create_subprocess_exec(`true`)",
    "asyncio-pidfd": "bare asyncio, child exits through pidfds, `true`",
    "lockstep": "lockstep's start path as up/ci run it (watchdog, one exec, pidfds, pipes), `true`",
    "lockstep-sh": "lockstep's start path, `sh -c true` (what a cmd string runs)",
}


def run(ctx: Context) -> dict[str, Any]:
    n = ctx.pick(1000, 500, 20)
    reps = ctx.pick(5, 2, 1)
    tools = [*VARIANTS, *(["make"] if "make" in ctx.peers else [])]
    makefile = ctx.tmp / "Makefile"
    targets = " ".join(f"t{i}" for i in range(n))
    makefile.write_text(f"all: {targets}\n.PHONY: all {targets}\n"
                        + "".join(f"t{i}:\n\t@true\n" for i in range(n)))
    walls: dict[str, list[float]] = {t: [] for t in tools}
    cpus: dict[str, list[float]] = {t: [] for t in tools}
    for _, tool in interleaved(tools, reps, random.Random(ctx.seed)):
        if tool == "make":
            walls[tool].append(run_timed([ctx.peers["make"], "-s", "-j2", "-f", str(makefile)], ctx.tmp).wall)
        else:
            out = subprocess.run([sys.executable, str(HERE / "spawn_floor.py"), tool, str(n), "2"],
                                 capture_output=True, text=True, check=True)
            wall, cpu = out.stdout.split()[-2:]
            walls[tool].append(float(wall))
            cpus[tool].append(float(cpu))
    # CPU per start: the starting process's own, without its children (not measured for make).
    rows = [metric(VARIANTS.get(t, "make -j2, one `true` per target"), t, "s", walls[t], per_start_ms=[
        w / n * 1000 for w in walls[t]], cpu_per_start_ms=[c / n * 1000 for c in cpus[t]]) for t in tools]
    summary = []
    for t in VARIANTS:
        # make is the only peer here: the other variants are not peers of this one.
        row = goal_row([r for r in rows if r["tool"] == "make"], "", "median", 0.0, "s")
        mine = next(r["median"] for r in rows if r["tool"] == t)
        best = row["best_peer_value"]
        summary.append({**row, "measure": f"{n:,} starts at concurrency 2: {VARIANTS[t]}", "lockstep": mine,
                        "ratio": mine / best if best else None, "goal": "(measured, no goal)", "met": None})
    return {
        "title": "Start-path floor: spawning short commands",
        "method": (f"{n:,} `true` processes at concurrency 2, spawned from a fresh Python process (so parent "
                   f"memory is the same), vs make -j2 on {n:,} independent targets. lockstep's path is the one `up` "
                   f"and `ci` use: the process runner with its watchdog running, so each command is one exec "
                   f"(no setpriv wrapper), with child exits learnt through pidfds. {reps} interleaved rounds. "
                   f"Nothing in the engine runs here: this is the floor under the no-op DAG figures."),
        "metrics": rows,
        "summary": summary,
    }
