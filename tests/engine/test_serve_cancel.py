"""A serve supervisor cancelled while it waits for its predecessor to stop ends at once:
it must not swallow its own cancellation and go on to start (and wait on) a new process,
which hung `up`'s shutdown after a reload that restarted a server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from engine_sim import ROOT, config, local

from lockstep.adapters.fakes import FakeProcessRunner, FakeRun
from lockstep.engine.clock import FakeClock
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.runners import FunctionRunner, LogFn, Outcome
from lockstep.engine.serve import ServeController
from lockstep.logs.store import LogStore
from lockstep.model.resource import LoadResult, Resource


async def _ok(resource: Resource, uid: int, log: LogFn) -> Outcome:
    return Outcome(True)


def test_cancelled_while_the_previous_server_stops_it_starts_nothing(tmp_path: Path) -> None:
    svc = local("svc", serve=True)

    def loader(path: str, args: Sequence[str]) -> LoadResult:
        return config(svc)

    async def main() -> None:
        engine = Engine(EngineOptions(tiltfile=f"{ROOT}/Tiltfile", state_dir=tmp_path), loader=loader,
                        runner=FunctionRunner(_ok), logs=LogStore(None), clock=FakeClock())
        running = asyncio.ensure_future(engine.run())
        await asyncio.sleep(0)
        processes = FakeProcessRunner(lambda _spec: FakeRun(release=asyncio.Event()))
        serve = ServeController(engine, processes)
        stopping = asyncio.Event()
        previous = asyncio.ensure_future(stopping.wait())  # the old supervisor, still stopping its process
        new = asyncio.ensure_future(serve._supervise("svc", svc, previous))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not new.done() and not processes.started  # waiting for the previous one
        new.cancel()  # lockstep is stopping
        for _ in range(20):
            await asyncio.sleep(0)
        try:
            assert new.done(), "the cancelled supervisor is still running"
            assert new.cancelled()
            assert not processes.started
        finally:
            stopping.set()
            for _ in range(50):  # whatever the supervisor started, end it so the test ends
                for h in processes.handles:
                    h.exit(0)
                new.cancel()
                await asyncio.sleep(0)
            running.cancel()
            await asyncio.gather(running, previous, return_exceptions=True)

    asyncio.run(main())
