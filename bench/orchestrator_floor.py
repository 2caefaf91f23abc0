"""The floor of any asyncio orchestrator on this machine: a minimal DAG runner against `make -j2`.

Usage: python bench/orchestrator_floor.py [--reps N] SIZE [SIZE ...]

The runner below does only what no orchestrator can skip: for each node of bench/scale_ci.py's
DAG it starts `sh -c true` in its own session with both output pipes (read until EOF) and
learns of its exit through a pidfd, two at a time, starting a node once its upstreams have
exited. No logs, no state, no views, no hold reasons. Its wall time against `make -j2` on the
same DAG bounds what lockstep can reach in CPython with asyncio: lockstep's own per-update work
is whatever it costs beyond this.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_ci

PARALLEL = 2


async def _run(nodes: list[tuple[str, list[str]]]) -> None:
    loop = asyncio.get_running_loop()
    downs: dict[str, list[str]] = {name: [] for name, _ in nodes}
    for name, ups in nodes:
        for up in ups:
            downs[up].append(name)
    waiting = {name: len(ups) for name, ups in nodes}
    ready = [name for name, ups in nodes if not ups]
    done: asyncio.Future[None] = loop.create_future()
    left = len(nodes)
    running = 0

    def start(name: str) -> None:
        nonlocal running
        running += 1
        r_out, w_out = os.pipe()
        r_err, w_err = os.pipe()
        proc = subprocess.Popen(["sh", "-c", "true"], stdin=subprocess.DEVNULL, stdout=w_out, stderr=w_err,
                                start_new_session=True, close_fds=True)
        os.close(w_out)
        os.close(w_err)
        pidfd = os.pidfd_open(proc.pid)
        open_ends = [2]
        exited = [False]

        def finish_if_done() -> None:
            nonlocal running, left
            if open_ends[0] or not exited[0]:
                return
            running -= 1
            left -= 1
            for down in downs[name]:
                waiting[down] -= 1
                if waiting[down] == 0:
                    ready.append(down)
            pump()
            if left == 0:
                done.set_result(None)

        def readable(fd: int) -> None:
            if not os.read(fd, 65536):
                loop.remove_reader(fd)
                os.close(fd)
                open_ends[0] -= 1
                finish_if_done()

        def reaped() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            proc.wait()
            exited[0] = True
            finish_if_done()

        loop.add_reader(r_out, readable, r_out)
        loop.add_reader(r_err, readable, r_err)
        loop.add_reader(pidfd, reaped)

    def pump() -> None:
        while ready and running < PARALLEL:
            start(ready.pop())

    pump()
    await done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", type=int, nargs="+")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    if len(a.sizes) == 1 and a.sizes[0] < 0:
        asyncio.run(_run(scale_ci.dag(-a.sizes[0])))
        return
    print("| resources | make -j2 | minimal asyncio runner | ratio | CPU: make, runner |")
    print("|---|---|---|---|---|")
    for n in a.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            scale_ci.write_inputs(d, scale_ci.dag(n))
            makes, runs, cpu_m, cpu_r = [], [], [], []
            for _ in range(a.reps):
                w, _, c = scale_ci.timed(["make", "-s", "-j2", "-f", "Makefile", "all"], dict(os.environ), d)
                makes.append(w)
                cpu_m.append(c)
                # The runner is a fresh interpreter, as `lockstep ci` is, so start-up counts on both sides.
                w, _, c = scale_ci.timed([sys.executable, __file__, str(-n)], dict(os.environ), d)
                runs.append(w)
                cpu_r.append(c)
            mk, rn = min(makes), min(runs)
            print(f"| {n:,} | {mk:.2f} s | {rn:.2f} s | {rn / mk:.2f}x | {min(cpu_m):.2f} s, {min(cpu_r):.2f} s |",
                  flush=True)


if __name__ == "__main__":
    main()
