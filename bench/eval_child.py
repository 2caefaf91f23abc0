"""Benchmark: what evaluating a Tiltfile in a bounded child process costs.

Times `load()` in-process against `Evaluator.load()` with a fresh child (as
`lockstep check` does) and with a spare child started ahead of time (as `up`
does for every reload) on a one-resource Tiltfile and on a generated 500-resource
Tiltfile, and the whole `lockstep check` command. Prints medians; the difference is the cost of
the child (interpreter start, imports, pickling the result).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lsbench.s_check import mixed

from lockstep.tiltfile import load
from lockstep.tiltfile.isolate import Evaluator

RUNS = 9
# The 500-resource Tiltfile: local resources in layers (each depending on two of an
# earlier layer) and k8s workloads with images and k8s_resource() calls.
N_LOCAL = 350
N_K8S = 150


def generate(root: Path) -> Path:
    return mixed(root, N_LOCAL, N_K8S)


def median_ms(fn: Callable[[], object], runs: int = RUNS, pause: float = 0.0) -> float:
    times = []
    for _ in range(runs):
        # A reload follows an edit after the quiet window: the spare child has had time to start.
        time.sleep(pause)
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    cold = Evaluator()
    warm = Evaluator(warm=True)
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small" / "Tiltfile"
        small.parent.mkdir()
        small.write_text("local_resource('a', cmd='echo a', deps=['src'])\n")
        big_dir = Path(tmp) / "big"
        big_dir.mkdir()
        big = generate(big_dir)
        for name, path in (("1 resource", small), ("500 resources", big)):
            assert load(str(path)).ok and cold.load(str(path)).ok and warm.load(str(path)).ok
            inside = median_ms(lambda p=path: load(str(p)), pause=1.0)  # type: ignore[misc]
            fresh = median_ms(lambda p=path: cold.load(str(p)), pause=1.0)  # type: ignore[misc]
            spare = median_ms(lambda p=path: warm.load(str(p)), pause=1.0)  # type: ignore[misc]
            print(f"{name:>14}: in-process {inside:6.1f} ms; fresh child {fresh:6.1f} ms "
                  f"({fresh - inside:+.1f} ms); spare child (up) {spare:6.1f} ms ({spare - inside:+.1f} ms); "
                  f"median of {RUNS}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"largest child peak RSS: {peak:.0f} MB")
        time.sleep(1.0)
        spare = warm._spare
        if spare is not None:
            status = Path(f"/proc/{spare.pid}/status").read_text()
            rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
            print(f"idle spare child (up): {int(rss) / 1024:.0f} MB RSS")
        warm.cancel_all()
        lockstep = os.path.join(os.path.dirname(sys.executable), "lockstep")
        for name, path in (("1 resource", small), ("500 resources", big)):
            cmd = median_ms(lambda p=path: subprocess.run(  # type: ignore[misc]
                [lockstep, "check", "-f", str(p)], capture_output=True, check=True), runs=5)
            print(f"`lockstep check` command, {name}: {cmd:.0f} ms (median of 5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
