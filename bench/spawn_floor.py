"""The floor under `lockstep ci`'s process starts: N `true`, 2 at a time, bare asyncio and lockstep's path vs make -j2.

Usage: python bench/spawn_floor.py [N] [REPS] [--before SRC]

Each variant runs in a fresh interpreter (bench/lsbench/spawn_floor.py), interleaved per repetition. Prints the min
wall time, the ratio to make, and the starting process's own CPU per start (user + system, without the children's):
on a loaded machine the wall times stretch, the CPU much less. `--before SRC` adds lockstep's path from another
source tree (e.g. an older commit's `src/`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = HERE / "lsbench" / "spawn_floor.py"
SRC = HERE.parent / "src"


def child(variant: str, n: int, src: Path) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, str(CHILD), variant, str(n), "2"], capture_output=True, text=True,
                         check=True, env=env)
    wall, cpu = out.stdout.split()[-2:]
    return float(wall), float(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=1000)
    ap.add_argument("reps", type=int, nargs="?", default=3)
    ap.add_argument("--before", type=Path)
    a = ap.parse_args()
    variants = [("asyncio", "asyncio (thread per child)", SRC), ("asyncio-pidfd", "asyncio + pidfd", SRC),
                ("forkserver", "fork server + pidfd", SRC),
                ("lockstep", "lockstep", SRC), ("lockstep-sh", "lockstep, sh -c", SRC)]
    if a.before:
        variants += [("lockstep", "lockstep before", a.before), ("lockstep-sh", "lockstep before, sh -c", a.before)]
    results: dict[str, list[tuple[float, float]]] = {label: [] for _, label, _ in variants}
    makes = []
    with tempfile.TemporaryDirectory() as d:
        mk = Path(d) / "Makefile"
        names = [f"t{i}" for i in range(a.n)]
        mk.write_text(f".PHONY: all {' '.join(names)}\nall: {' '.join(names)}\n"
                      + "".join(f"{t}:\n\t@true\n" for t in names))
        for _ in range(a.reps):
            t0 = time.monotonic()
            subprocess.run(["make", "-s", "-j2", "-f", str(mk)], check=True)
            makes.append(time.monotonic() - t0)
            for variant, label, src in variants:
                results[label].append(child(variant, a.n, src))
    m = min(makes)
    print(f"{a.n} x `true`, 2 at a time, min of {a.reps}: make -j2 {m:.3f} s")
    for label, runs in results.items():
        wall = min(w for w, _ in runs)
        cpu = min(c for _, c in runs)
        print(f"  {label:24} {wall:.3f} s ({wall / m:.2f}x make), {cpu / a.n * 1000:.3f} ms CPU per start")


if __name__ == "__main__":
    main()
