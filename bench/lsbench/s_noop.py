"""No-op DAG (20 layers of `true`, parallelism 2): wall time vs make -j2, peak RSS, time per resource."""

from __future__ import annotations

import random
from typing import Any

from lsbench import graphs
from lsbench.common import Context, goal_row, interleaved, metric
from lsbench.dagrun import run_dag

GOAL_RATIO = 2.0
LAYERS = 20


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.pick([250, 500, 1000, 2000, 5000, 10000], [100, 250, 500], [20, 40])
    timeout = ctx.pick(100.0, 30.0, 60.0)
    tools = ["lockstep"] + (["make"] if "make" in ctx.peers else [])
    rng = random.Random(ctx.seed)
    rows: list[dict[str, Any]] = []
    given_up: dict[str, int] = {}  # tool -> the size it timed out at: larger sizes are not tried
    for n in sizes:
        dag = graphs.layered(n, LAYERS, "true", 0.0, parallelism=2)
        reps = ctx.pick(3 if n <= 1000 else 1, 2 if n <= 100 else 1, 1)
        walls: dict[str, list[float]] = {t: [] for t in tools}
        rss: dict[str, list[float]] = {t: [] for t in tools}
        timed_out: dict[str, bool] = dict.fromkeys(tools, False)
        for rep, tool in interleaved(tools, reps, rng):
            if tool in given_up:
                continue
            ctx.log(f"  {n} nodes / {tool} (round {rep + 1})")
            run, _ = run_dag(tool, ctx.peers.get(tool, ""), dag, ctx.tmp / f"{n}-{tool}-{rep}", bracket=False,
                             timeout=timeout)
            if run.timed_out:
                timed_out[tool] = True
                given_up[tool] = n
                continue
            walls[tool].append(run.wall)
            rss[tool].append(run.max_rss_mb)
        for tool in tools:
            rows.append(metric(f"{len(dag.deps)} nodes", tool, "s", walls[tool], nodes=len(dag.deps),
                               max_rss_mb=max(rss[tool], default=None), timed_out=timed_out[tool],
                               skipped=tool in given_up and given_up[tool] < n, timeout_s=timeout,
                               per_resource_ms=[w / len(dag.deps) * 1000 for w in walls[tool]]))
    summary = []
    for case in dict.fromkeys(r["case"] for r in rows):
        row = goal_row(rows, f"no-op DAG, {case}: wall time vs make -j2 (median)", "median", 0.0, "s", case)
        row["goal"] = f"\u2264 {GOAL_RATIO:g} \u00d7 make"
        row["met"] = row["ratio"] is not None and row["ratio"] <= GOAL_RATIO
        mine = next(r for r in rows if r["case"] == case and r["tool"] == "lockstep")
        if mine["timed_out"]:
            row["lockstep"] = f"> {timeout:g} s (stopped)"
        elif mine["skipped"]:
            row["lockstep"] = "not run (a smaller size took too long)"
        summary.append(row)
    return {
        "title": "No-op DAG: random 20-layer DAG of `true`, parallelism 2",
        "method": (f"Each node depends on two random nodes of the layer above; `lockstep ci` "
                   f"(max_parallel_updates=2) against `make -j2` on the same graph, wall time from launch to "
                   f"exit and the process's peak RSS (wait4). A lockstep run that takes longer than {timeout:g} s "
                   f"is stopped and larger sizes are not tried."),
        "metrics": rows,
        "summary": summary,
    }
