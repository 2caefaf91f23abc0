"""Start-up on a trivial Tiltfile: `lockstep check` and `lockstep ci` as commands, and launch -> first command
start vs the watchers."""

from __future__ import annotations

import os
import random
import time
from typing import Any

from lsbench import watchers
from lsbench.common import LOCKSTEP, Context, goal_row, interleaved, metric, run_timed, wait_for

GOAL_MS = 300.0


def run(ctx: Context) -> dict[str, Any]:
    reps = ctx.pick(10, 3, 2)
    tools = [t for t in watchers.WATCHERS if t == "lockstep" or t in ctx.peers]
    first: dict[str, list[float]] = {t: [] for t in tools}
    check: list[float] = []
    ci: list[float] = []
    for rep, tool in interleaved([*tools, "check", "ci"], reps, random.Random(ctx.seed)):
        root = ctx.tmp / f"{tool}-{rep}"
        (root / "src").mkdir(parents=True)
        (root / "src" / "f.txt").write_text("0")
        if tool == "check":
            tf = root / "Tiltfile"
            tf.write_text("local_resource('build', cmd='date', deps=['src'])\n")
            check.append(run_timed([LOCKSTEP, "check", "-f", str(tf)], root).wall * 1000)
            continue
        if tool == "ci":
            # The whole fixed cost of a run: evaluation, one command, the verdict, shutdown, exit.
            tf = root / "Tiltfile"
            tf.write_text("local_resource('build', cmd='true')\n")
            env = {**os.environ, "LOCKSTEP_STATE_DIR": str(root / "state")}
            ci.append(run_timed([LOCKSTEP, "ci", "--port", "0", "-f", str(tf)], root, env).wall * 1000)
            continue
        launched = time.time()
        w = watchers.start(tool, ctx.peers.get(tool, ""), root, "src/f.txt", 0.2)
        try:
            first[tool].append((wait_for(w.starts, 60, 0.001)[0] - launched) * 1000)
        finally:
            w.stop()
    rows = [metric("lockstep check", "lockstep", "ms", check), metric("lockstep ci", "lockstep", "ms", ci)]
    rows += [metric("launch -> first command start", t, "ms", first[t]) for t in tools]
    return {
        "title": "Start-up, trivial Tiltfile",
        "method": (f"`lockstep check` and `lockstep ci` (one `true`) as commands (process launch to exit), and "
                   f"launch of each watcher to its "
                   f"first command start (`date +%s.%N`; chokidar with --initial), {reps} interleaved rounds."),
        "metrics": rows,
        "summary": [goal_row(rows, "`check`, trivial Tiltfile, as a command (median)", "median", GOAL_MS, "ms",
                             "lockstep check"),
                    goal_row(rows, "`up` launch → first command start, trivial Tiltfile (median)", "median",
                             GOAL_MS, "ms",
                             "launch -> first command start")],
    }
