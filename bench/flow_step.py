"""The engine's work after the scheduler, per update.

Usage: python bench/flow_step.py [--reps N] [--before SRC] [--real] SIZE [SIZE ...]

Runs `lockstep ci`'s engine in process on bench/scale_ci.py's DAG with updates that
succeed at once (no processes), a dashboard hub attached (nobody reading it, as in `ci`),
the ci tracker asked after every batch and the history and holds written to a temp state
dir. With `--real`, runs the real `lockstep ci` command instead (processes, every
controller, the dashboard server). Prints the CPU time of the whole run and of the
step's parts after the scheduler (reducers, snapshot, recorder, subscribers), per
update, in microseconds. `--before SRC` runs another tree's src/ interleaved (each run
is a child process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("reduce", "snapshot", "record", "publish")


def child(size: int, state_dir: str, real: bool) -> dict[str, float]:
    import asyncio
    import time

    sys.path.insert(0, str(HERE))
    from scale_ci import dag, write_inputs

    from lockstep.engine import engine as engine_mod
    from lockstep.engine import recorder as recorder_mod
    from lockstep.engine import snapshot as snapshot_mod
    from lockstep.engine.ci import CiTracker
    from lockstep.engine.engine import Engine, EngineOptions
    from lockstep.engine.runners import FunctionRunner, Outcome
    from lockstep.logs.store import LogStore
    from lockstep.store import store as store_mod
    from lockstep.tiltfile.loader import load
    from lockstep.ui.hub import Hub

    spent = dict.fromkeys((*PARTS, "load"), 0.0)
    calls = dict.fromkeys((*PARTS, "load"), 0)
    clock = time.process_time
    # Reading the CPU clock is a system call (~1 µs here): what one timed call adds is measured
    # and taken off each part, so the figures are the parts' own cost.
    t0 = clock()
    for _ in range(20000):
        clock()
    per_read = (clock() - t0) / 20000

    def timed(part: str, fn):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] += clock() - t0
                calls[part] += 1
        return wrapper

    # Time the parts where the step calls them (the same names in every tree measured).
    plain_reduce = store_mod.reduce

    def reduce(state, action):  # type: ignore[no-untyped-def]
        # Loading the configuration happens once a run: reported apart from the per-update work.
        part = "load" if type(action).__name__ == "ConfigLoaded" else "reduce"
        t0 = clock()
        try:
            return plain_reduce(state, action)
        finally:
            spent[part] += clock() - t0
            calls[part] += 1

    store_mod.reduce = reduce  # type: ignore[attr-defined]
    engine_mod.next_snapshot = timed("snapshot", engine_mod.next_snapshot)  # type: ignore[attr-defined]
    recorder_mod.Recorder.record = timed("record", recorder_mod.Recorder.record)  # type: ignore[method-assign]
    snapshot_mod.Publisher.publish = timed("publish", snapshot_mod.Publisher.publish)  # type: ignore[method-assign]

    tmp = Path(state_dir)
    write_inputs(tmp, dag(size))
    if real:
        return run_real(tmp, clock, spent, calls, per_read)
    result = load(str(tmp / "Tiltfile"), subcommand="ci")

    async def succeed(job, log):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        return Outcome(True)

    async def main() -> float:
        engine = Engine(EngineOptions(tiltfile=str(tmp / "Tiltfile"), state_dir=tmp / "state"),
                        loader=lambda p, a: result, runner=FunctionRunner(succeed), logs=LogStore(None))
        hub = Hub(engine)
        task = asyncio.ensure_future(engine.run())
        t0 = clock()
        engine.initial_load()
        tracker = CiTracker()
        await engine.wait_for(tracker.done, 600)
        cpu = clock() - t0
        hub.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return cpu

    watch_gc(clock, spent, calls)
    total = asyncio.run(main())
    return {"total": total, "steps": calls["snapshot"], "actions": calls["reduce"],
            **{k: max(0.0, v - calls[k] * per_read) for k, v in spent.items()}}


def watch_gc(clock, spent, calls) -> None:  # type: ignore[no-untyped-def]
    import gc

    gc_start: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        # Collections run inside whatever allocates; their time is reported apart as well.
        if phase == "start":
            gc_start.append(clock())
        elif gc_start:
            spent["gc"] += clock() - gc_start.pop()

    spent["gc"], calls["gc"] = 0.0, 0
    gc.callbacks.append(on_gc)


def run_real(tmp: Path, clock, spent, calls, per_read) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The `ci` command itself, in this process (its own CPU; the commands' CPU is theirs)."""
    from lockstep.cli.main import main as cli_main

    os.environ["LOCKSTEP_STATE_DIR"] = str(tmp / "state")
    os.chdir(tmp)
    watch_gc(clock, spent, calls)
    t0 = clock()
    with contextlib.redirect_stdout(sys.stderr):
        code = cli_main(["ci", "-f", "Tiltfile", "--port", "0"])
    if code != 0:
        raise SystemExit(f"lockstep ci exited with {code}")
    return {"total": clock() - t0, "steps": calls["snapshot"], "actions": calls["reduce"],
            **{k: max(0.0, v - calls[k] * per_read) for k, v in spent.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", type=int, nargs="*")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--before", help="another lockstep src/ to run interleaved")
    ap.add_argument("--real", action="store_true", help="run the real `lockstep ci` command")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.dir, a.real)))
        return
    trees = {"after": str(HERE.parent / "src")}
    if a.before:
        trees = {"before": a.before, **trees}
    print(f"`lockstep ci` {'command' if a.real else 'engine, in process'}, min of {a.reps} runs")
    print("| resources | tree | steps, actions | CPU total | config load | garbage collection | "
          + " | ".join(f"{p} µs/update" for p in PARTS) + " | after the scheduler |")
    print("|---|---|---|---|---|---|" + "---|" * len(PARTS) + "---|")
    for n in a.sizes:
        best: dict[str, dict[str, float]] = {}
        for _ in range(a.reps):
            for name, src in trees.items():
                with tempfile.TemporaryDirectory() as tmp:
                    env = {**os.environ, "PYTHONPATH": src}
                    cmd = [sys.executable, __file__, "--child", str(n), "--dir", tmp] + (["--real"] if a.real else [])
                    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         text=True).stdout
                    got = json.loads(out.strip().splitlines()[-1])
                b = best.setdefault(name, got)
                for k, v in got.items():
                    b[k] = min(b[k], v)
        for name, b in best.items():
            flow = sum(b[p] for p in PARTS)
            cells = " | ".join(f"{b[p] / n * 1e6:.0f}" for p in PARTS)
            print(f"| {n:,} | {name} | {b['steps']:,}, {b['actions']:,} | {b['total']:.2f} s | {b['load']:.2f} s "
                  f"| {b['gc']:.2f} s | {cells} "
                  f"| {flow / n * 1e6:.0f} µs |", flush=True)


if __name__ == "__main__":
    main()
