"""Child process of s_floor: spawn N short commands at a given concurrency, print the wall time.

    python spawn_floor.py {asyncio|lockstep|lockstep-sh} N CONCURRENCY

Runs in a fresh interpreter so that the parent's memory (fork cost grows with
it) is the same for every variant.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time


async def bare(n: int, conc: int) -> None:
    sem = asyncio.Semaphore(conc)

    async def one() -> None:
        async with sem:
            proc = await asyncio.create_subprocess_exec("true", stdin=subprocess.DEVNULL,
                                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await proc.wait()

    await asyncio.gather(*(one() for _ in range(n)))


async def lockstep(n: int, conc: int, argv: tuple[str, ...]) -> None:
    # The engine's own start path: setpriv wrapper, own session, piped and line-split output.
    from lockstep.adapters.process import ProcessSpec, SubprocessRunner

    runner = SubprocessRunner()
    sem = asyncio.Semaphore(conc)
    cwd = tempfile.gettempdir()

    async def one() -> None:
        async with sem:
            handle = await runner.start(ProcessSpec(argv, cwd), lambda line, stream: None)
            await handle.wait()

    await asyncio.gather(*(one() for _ in range(n)))


def main() -> None:
    variant, n, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t0 = time.perf_counter()
    if variant == "asyncio":
        asyncio.run(bare(n, conc))
    elif variant == "lockstep":
        asyncio.run(lockstep(n, conc, ("true",)))
    elif variant == "lockstep-sh":
        asyncio.run(lockstep(n, conc, ("sh", "-c", "true")))
    else:
        raise SystemExit(f"unknown variant {variant}")
    print(time.perf_counter() - t0)


if __name__ == "__main__":
    main()
