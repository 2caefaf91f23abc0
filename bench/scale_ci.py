"""`lockstep ci` vs `make -j2` on random 20-layer DAGs of `true`, interleaved in one run.

Usage: python bench/scale_ci.py [--reps N] [--kept-state] [--before SRC] [--profile OUT.prof] SIZE [SIZE ...]

Each node depends on two random nodes of the layer above; both tools get the same
DAG, parallelism 2. Prints wall time, per-resource time, max RSS and the ratio, and
the CPU time (user + system) of each tool with the commands it ran: on a machine shared
with other jobs the wall times stretch with the load, the CPU times much less.

By default every timed `ci` starts with a fresh state dir (its own per tool and repetition),
as a project's first run does. `--kept-state` times later runs in the state dir an untimed
first run made, as when a developer runs `ci` again in the same project. (When logs were one
file per resource, the fresh state dir cost 0.4-0.7 ms of kernel CPU per resource on this
machine's ext4 to create them; a run now writes one log file.)
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAYERS = 20


def dag(n: int, seed: int = 7) -> list[tuple[str, list[str]]]:
    rnd = random.Random(seed)
    width = max(1, n // LAYERS)
    out: list[tuple[str, list[str]]] = []
    for layer in range(LAYERS):
        for i in range(width):
            ups = [f"r{layer - 1}_{j}" for j in rnd.sample(range(width), min(2, width))] if layer else []
            out.append((f"r{layer}_{i}", ups))
    return out


def write_inputs(d: Path, nodes: list[tuple[str, list[str]]]) -> None:
    lines = ["update_settings(max_parallel_updates=2)"]
    for name, ups in nodes:
        lines.append(f"local_resource({name!r}, cmd='true', resource_deps={ups!r}, allow_parallel=True)")
    (d / "Tiltfile").write_text("\n".join(lines) + "\n")
    mk = [".PHONY: all " + " ".join(n for n, _ in nodes), "all: " + " ".join(n for n, _ in nodes)]
    for name, ups in nodes:
        mk.append(f"{name}: {' '.join(ups)}\n\t@true")
    (d / "Makefile").write_text("\n".join(mk) + "\n")


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, the child's max RSS in MB and its CPU seconds with its reaped children (wait4)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed")
    return wall, ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime


def _state(d: Path, tool: str, rep: int, kept: bool) -> str:
    return str(d / tool) if kept else str(d / f"{tool}{rep}")


def _warm_up(before: str | None, env: dict[str, str], d: Path) -> None:
    """One untimed run of each lockstep tree into the state dir the timed runs will keep."""
    for tool, path in (("before", before), ("state", env["PYTHONPATH"])):
        if path:
            timed([sys.executable, "-m", "lockstep.cli.main", "ci", "-f", "Tiltfile"],
                  {**env, "PYTHONPATH": path, "LOCKSTEP_STATE_DIR": str(d / tool)}, d)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", type=int, nargs="+")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--profile")
    ap.add_argument("--before", help="another lockstep src/ (e.g. an older commit's) to run interleaved")
    ap.add_argument("--kept-state", action="store_true",
                    help="time later runs in a state dir an untimed first run made, as when a developer runs ci "
                         "again in the same project (the first run creates one log file per resource)")
    a = ap.parse_args()
    src = str(Path(__file__).resolve().parent.parent / "src")
    if a.before:
        print("| resources | make -j2 | before | ratio | before max RSS | after | ratio | after per resource "
              "| after max RSS | CPU: make, before, after |")
        print("|---|---|---|---|---|---|---|---|---|---|")
    else:
        print("| resources | make -j2 | lockstep ci | ratio | ci per resource | lockstep max RSS | CPU: make, ci |")
        print("|---|---|---|---|---|---|---|")
    for n in a.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            write_inputs(d, dag(n))
            env = {**os.environ, "PYTHONPATH": src}
            makes, cis, rss = [], [], 0.0
            olds, old_rss = [], 0.0
            cpu = {"make": [], "before": [], "after": []}
            for rep in range(a.reps):
                if a.kept_state and rep == 0:
                    _warm_up(a.before, env, d)
                if a.before:
                    state_b = _state(d, "before", rep, a.kept_state)
                    env_b = {**env, "PYTHONPATH": a.before, "LOCKSTEP_STATE_DIR": state_b}
                    w, r, c = timed([sys.executable, "-m", "lockstep.cli.main", "ci", "-f", "Tiltfile"], env_b, d)
                    olds.append(w)
                    cpu["before"].append(c)
                    old_rss = max(old_rss, r)
                env["LOCKSTEP_STATE_DIR"] = _state(d, "state", rep, a.kept_state)
                w, _, c = timed(["make", "-s", "-j2", "-f", "Makefile", "all"], env, d)
                makes.append(w)
                cpu["make"].append(c)
                cmd = [sys.executable]
                if a.profile:
                    cmd += ["-m", "cProfile", "-o", f"{a.profile}.{n}"]
                cmd += ["-m", "lockstep.cli.main", "ci", "-f", "Tiltfile"]
                w, r, c = timed(cmd, env, d)
                cis.append(w)
                cpu["after"].append(c)
                rss = max(rss, r)
            mk, ci = min(makes), min(cis)
            cpus = {k: f"{min(v):.2f} s" for k, v in cpu.items() if v}
            if a.before:
                b = min(olds)
                print(f"| {n:,} | {mk:.2f} s | {b:.2f} s | {b / mk:.1f}x | {old_rss:.0f} MB | {ci:.2f} s | "
                      f"{ci / mk:.1f}x | {ci / n * 1000:.2f} ms | {rss:.0f} MB | {', '.join(cpus.values())} |",
                      flush=True)
                continue
            print(f"| {n:,} | {mk:.2f} s | {ci:.2f} s | {ci / mk:.1f}x | {ci / n * 1000:.2f} ms | {rss:.0f} MB "
                  f"| {', '.join(cpus.values())} |", flush=True)


if __name__ == "__main__":
    main()
