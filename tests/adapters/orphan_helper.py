"""Run by test_process: start `sh -c 'sleep & sleep'` via SubprocessRunner, then idle.

The test kill -9s this process and checks that nothing it started survives.
argv: MARKER USE_REAPER(0|1)
"""

from __future__ import annotations

import asyncio
import os
import sys

from lockstep.adapters.process import ProcessSpec, SubprocessRunner
from lockstep.adapters.reaper import Reaper


async def main(marker: str, use_reaper: bool) -> None:
    reaper = Reaper() if use_reaper else None
    runner = SubprocessRunner(reaper)
    spec = ProcessSpec(
        argv=("sh", "-c", "sleep 300 & sleep 300 & wait"),
        cwd="/",
        env=(("LOCKSTEP_TEST_MARKER", marker),),
    )
    await runner.start(spec, lambda line, stream: None)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    os.environ.pop("LOCKSTEP_TEST_MARKER", None)
    asyncio.run(main(sys.argv[1], sys.argv[2] == "1"))
