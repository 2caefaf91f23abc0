"""An in-process engine on a fake clock whose updates wait for the test to release them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from engine_sim import ROOT

from lockstep.adapters.process import Stream
from lockstep.engine.clock import FakeClock
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.runners import FunctionRunner, LogFn, Outcome, UpdateJob
from lockstep.logs.store import LogStore
from lockstep.model.resource import LoadResult


class Gate:
    """Updates block until the test releases them, one event per update."""

    def __init__(self) -> None:
        self.events: dict[int, asyncio.Event] = {}
        self.ran: list[str] = []
        self.cancelled: list[str] = []

    async def __call__(self, job: UpdateJob, log: LogFn) -> Outcome:
        self.ran.append(job.resource.name)
        log(f"building {job.resource.name}", Stream.STDOUT)
        event = self.events.setdefault(job.update_id, asyncio.Event())
        try:
            await event.wait()
        except asyncio.CancelledError:
            self.cancelled.append(job.resource.name)
            raise
        return Outcome(True)

    def release(self, uid: int) -> None:
        self.events.setdefault(uid, asyncio.Event()).set()


async def running(result: LoadResult, gate: Gate, clock: FakeClock, tmp: Path) -> tuple[Engine, asyncio.Task[None]]:
    def loader(path: str, args: Sequence[str]) -> LoadResult:
        return result

    engine = Engine(EngineOptions(tiltfile=f"{ROOT}/Tiltfile", state_dir=tmp), loader=loader,
                    runner=FunctionRunner(gate), logs=LogStore(None), clock=clock)
    task = asyncio.ensure_future(engine.run())
    engine.initial_load()
    return engine, task
