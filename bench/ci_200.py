"""`lockstep ci` on a 200-resource DAG: per-hop overhead and makespan vs critical path.

Two runs:
  1. in-process engine, updates that take 10 ms of (async) work each: isolates
     the scheduler and store overhead per hop of propagation;
  2. the real `lockstep ci` command on `true` commands (pure overhead, process
     spawns included) and on `sleep 0.05` commands (a fast build step).
Prints the figures quoted in the README's performance section.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from lockstep.engine.engine import Engine, EngineOptions  # noqa: E402
from lockstep.engine.persist import read_history  # noqa: E402
from lockstep.engine.runners import FunctionRunner, Outcome  # noqa: E402
from lockstep.logs.store import LogStore  # noqa: E402
from lockstep.model.update import UpdateRecord  # noqa: E402
from lockstep.statedir import state_dir  # noqa: E402
from lockstep.tiltfile import load  # noqa: E402

N, LAYERS = 200, 20


def tiltfile(cmd: str) -> str:
    rnd = random.Random(7)
    lines = ["update_settings(max_parallel_updates=16)"]
    width = N // LAYERS
    for layer in range(LAYERS):
        for i in range(width):
            name = f"r{layer}_{i}"
            ups = [f"r{layer - 1}_{j}" for j in rnd.sample(range(width), 2)] if layer else []
            lines.append(f"local_resource({name!r}, cmd={cmd!r}, resource_deps={ups!r}, allow_parallel=True)")
    return "\n".join(lines) + "\n"


def analyse(records: list[UpdateRecord]) -> dict[str, float]:
    by = {r.resource: r for r in records}
    finish: dict[str, float] = {}
    gaps: list[float] = []
    for r in sorted(records, key=lambda r: r.start):
        assert r.end is not None
        direct = [by[u] for u in r.upstreams if u in by]
        if direct:
            gaps.append(r.start - max(u.end or 0 for u in direct))
        finish[r.resource] = (r.end - r.start) + max((finish[u.resource] for u in direct), default=0.0)
    start = min(r.start for r in records)
    makespan = max(r.end or 0 for r in records) - start
    critical = max(finish.values())
    return {
        "makespan": makespan,
        "critical": critical,
        "ratio": makespan / critical,
        "hop_p50_ms": statistics.median(gaps) * 1000,
        "hop_p95_ms": statistics.quantiles(gaps, n=20)[-1] * 1000,
    }


async def in_process(tmp: Path) -> dict[str, float]:
    tf = tmp / "Tiltfile"
    tf.write_text(tiltfile("true"))

    async def work(job: object, log: object) -> Outcome:
        await asyncio.sleep(0.01)
        return Outcome(True)

    engine = Engine(EngineOptions(str(tf)), loader=lambda p, a: load(p, a), runner=FunctionRunner(work),
                    logs=LogStore(None))
    task = asyncio.ensure_future(engine.run())
    engine.initial_load()
    await engine.store.wait_for(lambda s: len(s.history) == N and not s.running(), timeout=120)
    task.cancel()
    return analyse(list(engine.state.history))


def real_ci(tmp: Path, cmd: str) -> dict[str, float]:
    tf = tmp / f"real-{abs(hash(cmd))}" / "Tiltfile"
    tf.parent.mkdir()
    tf.write_text(tiltfile(cmd))
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp / "state")}
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "lockstep.cli.main", "ci", "-f", str(tf)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    os.environ["LOCKSTEP_STATE_DIR"] = str(tmp / "state")
    figures = analyse(list(read_history(state_dir(tf))))
    figures["wall"] = wall
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        a = asyncio.run(in_process(tmp))
        print(f"in-process, {N} resources x 10 ms: makespan {a['makespan']:.3f}s, critical path {a['critical']:.3f}s, "
              f"ratio {a['ratio']:.3f}, scheduler overhead per hop p50 {a['hop_p50_ms']:.2f} ms, "
              f"p95 {a['hop_p95_ms']:.2f} ms")
        # `true` measures pure overhead; `sleep 0.05` is closer to a real (if fast) build step.
        for cmd in ("true", "sleep 0.05"):
            b = real_ci(tmp, cmd)
            print(f"lockstep ci, {N} `{cmd}` commands: wall {b['wall']:.2f}s, makespan {b['makespan']:.3f}s, "
                  f"critical path {b['critical']:.3f}s, ratio {b['ratio']:.3f}, hop p50 {b['hop_p50_ms']:.2f} ms, "
                  f"p95 {b['hop_p95_ms']:.2f} ms")


if __name__ == "__main__":
    main()
