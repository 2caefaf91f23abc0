"""The floor under `lockstep ci`'s process starts: a bare asyncio spawn of N `true`, 2 at a time, vs `make -j2`.

Usage: python bench/spawn_floor.py [N] [REPS]. Prints min wall times and the ratio, interleaved per repetition.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from lockstep.adapters.process import pidfd_child_watcher  # noqa: E402


async def spawn_all(n: int, parallel: int, pidfd: bool) -> float:
    sem = asyncio.Semaphore(parallel)

    async def one() -> None:
        async with sem:
            p = await asyncio.create_subprocess_exec("true", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                     stdin=subprocess.DEVNULL, start_new_session=True)
            await p.communicate()

    t0 = time.monotonic()
    if pidfd:
        with pidfd_child_watcher():
            await asyncio.gather(*(one() for _ in range(n)))
    else:
        await asyncio.gather(*(one() for _ in range(n)))
    return time.monotonic() - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as d:
        mk = Path(d) / "Makefile"
        names = [f"t{i}" for i in range(n)]
        mk.write_text(f".PHONY: all {' '.join(names)}\nall: {' '.join(names)}\n"
                      + "".join(f"{t}:\n\t@true\n" for t in names))
        makes, threaded, pidfd = [], [], []
        for _ in range(reps):
            t0 = time.monotonic()
            subprocess.run(["make", "-s", "-j2", "-f", str(mk)], check=True)
            makes.append(time.monotonic() - t0)
            threaded.append(asyncio.run(spawn_all(n, 2, pidfd=False)))
            pidfd.append(asyncio.run(spawn_all(n, 2, pidfd=True)))
    m = min(makes)
    print(f"{n} x `true`, 2 at a time: make -j2 {m:.3f} s; asyncio (thread per child) {min(threaded):.3f} s "
          f"({min(threaded) / m:.2f}x); asyncio + pidfd {min(pidfd):.3f} s ({min(pidfd) / m:.2f}x)")


if __name__ == "__main__":
    main()
