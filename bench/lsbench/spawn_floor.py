"""Child process of s_floor: spawn N short commands at a given concurrency, print wall and CPU seconds.

    python spawn_floor.py {asyncio|asyncio-pidfd|lockstep|lockstep-sh} N CONCURRENCY

Prints `WALL CPU`: CPU is this process's own user + system time (the event
loop's work per start, without the children's), over the same span as WALL.

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


async def lockstep(n: int, conc: int, argv: tuple[str, ...]) -> tuple[float, float]:
    # The start path `up` and `ci` use (engine/app.py): the runner with a live watchdog (one exec per
    # command, no setpriv wrapper), child exits learnt through pidfds, own session, piped and
    # line-split output.
    from lockstep.adapters.process import ProcessSpec, SubprocessRunner, pidfd_child_watcher
    from lockstep.adapters.reaper import Reaper

    with Reaper() as reaper, pidfd_child_watcher():
        runner = SubprocessRunner(reaper)
        assert reaper.watching, "the watchdog did not start: this would measure the setpriv fallback"
        sem = asyncio.Semaphore(conc)
        cwd = tempfile.gettempdir()

        async def one() -> None:
            async with sem:
                handle = await runner.start(ProcessSpec(argv, cwd), lambda line, stream: None)
                await handle.wait()

        # The watchdog starts once per `up`, before any command: not part of the per-start cost.
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(n)))
        return time.perf_counter() - t0, time.process_time() - c0


async def bare_pidfd(n: int, conc: int) -> None:
    from lockstep.adapters.process import pidfd_child_watcher

    with pidfd_child_watcher():
        await bare(n, conc)


def main() -> None:
    variant, n, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t0, c0 = time.perf_counter(), time.process_time()
    if variant == "asyncio":
        asyncio.run(bare(n, conc))
    elif variant == "asyncio-pidfd":
        asyncio.run(bare_pidfd(n, conc))
    elif variant == "lockstep":
        print(*asyncio.run(lockstep(n, conc, ("true",))))
        return
    elif variant == "lockstep-sh":
        print(*asyncio.run(lockstep(n, conc, ("sh", "-c", "true"))))
        return
    else:
        raise SystemExit(f"unknown variant {variant}")
    print(time.perf_counter() - t0, time.process_time() - c0)


if __name__ == "__main__":
    main()
