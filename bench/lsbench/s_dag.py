"""DAGs of `sleep` commands: makespan over the critical-path lower bound, vs make -jN and doit -n N."""

from __future__ import annotations

import math
import random
from typing import Any

from lsbench import graphs
from lsbench.common import Context, goal_row, interleaved, metric
from lsbench.dagrun import DAG_TOOLS, run_dag

GOAL_RATIO = 1.05


def run(ctx: Context) -> dict[str, Any]:
    sec = ctx.pick(0.1, 0.05, 0.01)
    n_chain, n_fan, n_rand, layers = ctx.pick((50, 200, 500, 25), (20, 50, 100, 10), (3, 4, 8, 2))
    cmd = f"sleep {sec}"
    cases = {
        f"chain {n_chain}": graphs.chain(n_chain, cmd, sec),
        f"fan-out {n_fan}": graphs.fan_out(n_fan, cmd, sec),
        f"random {n_rand}": graphs.layered(n_rand, layers, cmd, sec, parallelism=max(1, n_rand // layers)),
    }
    reps = ctx.pick(3, 2, 1)
    tools = [t for t in DAG_TOOLS if t == "lockstep" or t in ctx.peers]
    ratios: dict[tuple[str, str], list[float]] = {}
    spans: dict[tuple[str, str], list[float]] = {}
    runs = [(case, tool) for case in cases for tool in tools]
    for rep, (case, tool) in interleaved(runs, reps, random.Random(ctx.seed)):
        dag = cases[case]
        ctx.log(f"  {case} / {tool} (round {rep + 1})")
        root = ctx.tmp / f"{case.replace(' ', '-')}-{tool}-{rep}"
        _, span = run_dag(tool, ctx.peers.get(tool, ""), dag, root, bracket=True, timeout=600)
        if not math.isnan(span):
            spans.setdefault((case, tool), []).append(span)
            ratios.setdefault((case, tool), []).append(span / dag.lower_bound())
    rows = [metric(case, tool, "x lower bound", ratios.get((case, tool), []),
                   makespan_s=spans.get((case, tool), []), lower_bound_s=cases[case].lower_bound(),
                   parallelism=cases[case].parallelism, nodes=len(cases[case].deps))
            for case in cases for tool in tools]
    return {
        "title": "DAGs of `sleep` commands: makespan / critical-path lower bound",
        "method": (f"Every node runs `{cmd}`; width = parallelism (lockstep max_parallel_updates, make -j, "
                   f"doit -n with threads). Makespan is taken inside the run, between a `begin` node before "
                   f"every root and a `finish` node after every sink, both writing a timestamp; the lower bound "
                   f"is max(critical path, total work / parallelism). {reps} interleaved rounds."),
        "metrics": rows,
        "summary": [goal_row(rows, f"`sleep` DAG, {case}: makespan / lower bound (median)", "median",
                             GOAL_RATIO, "x", case)
                    for case in cases],
    }
