"""Run one DAG to completion with lockstep ci, make -jN or doit -n N."""

from __future__ import annotations

import os
from pathlib import Path

from lsbench import graphs
from lsbench.common import LOCKSTEP, Run, run_timed, stamps

DAG_TOOLS = ("lockstep", "make", "doit")


def run_dag(tool: str, exe: str, dag: graphs.Dag, root: Path, bracket: bool, timeout: float) -> tuple[Run, float]:
    """(the run, the makespan between the sentinels, or nan without them)."""
    root.mkdir(parents=True)
    stamp = root / "stamps" if bracket else None
    env = None
    if tool == "lockstep":
        (root / "Tiltfile").write_text(graphs.tiltfile(dag, stamp))
        argv = [LOCKSTEP, "ci", "-f", str(root / "Tiltfile")]
        env = {**os.environ, "LOCKSTEP_STATE_DIR": str(root / ".state")}
    elif tool == "make":
        (root / "Makefile").write_text(graphs.makefile(dag, stamp))
        argv = [exe, "-s", "-j", str(dag.parallelism), "-f", str(root / "Makefile")]
    elif tool == "doit":
        (root / "dodo.py").write_text(graphs.dodo(dag, stamp))
        argv = [exe, "run", "-f", str(root / "dodo.py"), "--db-file", str(root / ".doit.db"),
                "-n", str(dag.parallelism), "-P", "thread"]
    else:
        raise ValueError(f"unknown DAG runner {tool}")
    run = run_timed(argv, root, env, timeout)
    marks = stamps(stamp) if stamp else []
    return run, (marks[-1] - marks[0]) if len(marks) == 2 else float("nan")
