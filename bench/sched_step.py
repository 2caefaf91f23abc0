"""The scheduler's share of the engine's step, alone: `ci` on bench/scale_ci.py's DAG, replayed without processes.

Usage: python bench/sched_step.py [--reps N] [--profile OUT.prof] [--before SRC] SIZE

The real reducers and the real `plan_starts` with an `IncrementalScheduler` run the
same sequence `lockstep ci` runs (load, start two, finish the oldest, decide again, ...)
on the same random 20-layer DAG, max_parallel_updates=2. Only the planning (the
decision and the starts it applies) is timed, in CPU seconds, so the figure is the
per-update cost that `Engine._step` pays for scheduling. `--before SRC` runs another
tree's code in a child process, interleaved, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_ci import dag


def replay(n: int) -> tuple[float, float, int]:
    """CPU seconds spent planning and deciding (a part of planning), and the number of updates started."""
    from lockstep.engine.incremental import IncrementalScheduler
    from lockstep.engine.planning import plan_starts
    from lockstep.engine.scheduler import Decision
    from lockstep.model.resource import Cmd, LoadResult, LocalSpec, Resource, ResourceKind, Settings
    from lockstep.store import actions as A
    from lockstep.store.reducers import reduce
    from lockstep.store.state import EngineState

    resources = tuple(
        Resource(name=name, kind=ResourceKind.LOCAL, resource_deps=tuple(ups),
                 local=LocalSpec(cmd=Cmd(("sh", "-c", "true")), allow_parallel=True))
        for name, ups in dag(n)
    )
    cfg = LoadResult(tiltfile="/bench/Tiltfile", resources=resources, settings=Settings(max_parallel_updates=2))
    holder = [reduce(EngineState(), A.ConfigLoaded(cfg, 0.0))]

    def apply(action: A.Action) -> EngineState:
        holder[0] = reduce(holder[0], action)
        return holder[0]

    sched = IncrementalScheduler()
    deciding = [0.0]

    def decide(state: EngineState) -> Decision:
        t0 = time.process_time()
        d = sched.decide(state)
        deciding[0] += time.process_time() - t0
        return d

    ids = itertools.count(1)
    running: deque[tuple[int, str]] = deque()
    cpu, started, now = 0.0, 0, 0.0
    while True:
        t0 = time.process_time()
        _, _, jobs = plan_starts(holder[0], now, ids, apply, decide)
        cpu += time.process_time() - t0
        started += len(jobs)
        running.extend((j.update_id, j.resource.name) for j in jobs)
        if not running:
            break
        now += 0.001
        uid, name = running.popleft()
        apply(A.UpdateFinished(uid, name, True, now))
    return cpu, deciding[0], started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("size", type=int)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--profile")
    ap.add_argument("--before", help="another lockstep src/ to run interleaved")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(*replay(a.size))
        return
    if a.profile:
        import cProfile

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        cProfile.runctx("replay(a.size)", globals(), {"a": a}, a.profile)
        return
    trees = {"after": str(Path(__file__).resolve().parent.parent / "src")}
    if a.before:
        trees = {"before": a.before, **trees}
    got: dict[str, list[float]] = {k: [] for k in trees}
    dec: dict[str, list[float]] = {k: [] for k in trees}
    count = 0
    for _ in range(a.reps):
        for label, src in trees.items():
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env["PYTHONPATH"] = src
            out = subprocess.run([sys.executable, __file__, "--child", str(a.size)], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            got[label].append(float(out[0]))
            dec[label].append(float(out[1]))
            count = int(out[2])
    for label, cpus in got.items():
        best, d = min(cpus), min(dec[label])
        print(f"{label}: {count} updates, planning CPU min {best:.3f} s ({best / count * 1e3:.3f} ms per update; "
              f"deciding {d / count * 1e3:.3f} ms), all {', '.join(f'{c:.3f}' for c in cpus)}")


if __name__ == "__main__":
    main()
