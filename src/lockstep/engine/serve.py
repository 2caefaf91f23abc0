"""Serve controller: keeps each local resource's `serve_cmd` process running.

The supervision bookkeeping (one supervisor per update, stop on removal or
disable, "stopped" on every exit) is `RuntimeController`'s. A successful
update moves the runtime to STARTING (reducer); the controller then replaces
the process — the previous one is stopped only now, after the new `cmd`
succeeded — and reports RuntimeStarted / RuntimeReady. Any exit it did not
ask for is an error, restarted with capped exponential backoff; such a
restart does not propagate to dependents (C2), because it is not an update.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable

from lockstep.adapters.probes import ProbeLoop, ProbeOutcome
from lockstep.adapters.process import ProcessRunner, ProcessSpec, ProcessStartError, Stream
from lockstep.engine.port import EnginePort
from lockstep.engine.runtime import RuntimeController
from lockstep.logs.store import LogSource
from lockstep.model.resource import Resource
from lockstep.store import actions as A

BACKOFF_START = 1.0
BACKOFF_CAP = 30.0


def backoff_delay(restarts: int, start: float = BACKOFF_START, cap: float = BACKOFF_CAP) -> float:
    return float(min(cap, start * 2.0 ** max(0, restarts - 1)))


class ProbeReporter:
    """Records every probe result in the state; logs one line per change of result."""

    def __init__(self, engine: EnginePort, name: str) -> None:
        self.engine = engine
        self.name = name
        self._last: ProbeOutcome | None = None

    def __call__(self, outcome: ProbeOutcome) -> None:
        self.engine.dispatch(A.ProbeResult(self.name, outcome.ok, outcome.text, self.engine.now()))
        if outcome != self._last:
            word = "succeeded" if outcome.ok else "failing"
            self.engine.log(self.name, f"readiness probe {word}: {outcome.text}", source=LogSource.RUNTIME,
                            error=not outcome.ok)
        self._last = outcome


class ServeController(RuntimeController):
    """The runtime of a local resource with a `serve_cmd`."""

    def __init__(
        self,
        engine: EnginePort,
        processes: ProcessRunner,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        grace: float = 5.0,
    ) -> None:
        self.processes = processes
        self._sleep = sleep
        self.grace = grace
        super().__init__(engine)

    @staticmethod
    def serves(r: Resource) -> bool:
        return r.local is not None and not r.local.serve_cmd.empty

    def handles(self, r: Resource) -> bool:
        return self.serves(r)

    async def keep_running(self, name: str, r: Resource) -> None:
        assert r.local is not None
        spec = ProcessSpec(r.local.serve_cmd.argv, r.local.serve_dir or os.getcwd(), r.local.serve_env)
        restarts = 0
        while True:
            await self._run_once(name, r, spec)
            restarts += 1
            delay = backoff_delay(restarts)
            self.engine.log(name, f"serve_cmd exited; restarting in {delay:.0f}s", source=LogSource.RUNTIME,
                            error=True)
            await self._sleep(delay)

    async def _run_once(self, name: str, r: Resource, spec: ProcessSpec) -> None:
        assert r.local is not None

        def on_line(text: str, stream: Stream) -> None:
            self.engine.log_output(name, text, LogSource.RUNTIME, stream is Stream.STDERR)

        self.engine.log(name, f"Starting serve_cmd: {r.local.serve_cmd.display()}", source=LogSource.RUNTIME)
        try:
            handle = await self.processes.start(spec, on_line)
        except ProcessStartError as exc:
            self.engine.log(name, str(exc), source=LogSource.RUNTIME, error=True)
            self.engine.dispatch(A.RuntimeExited(name, -1, self.engine.now()))
            return
        self.engine.dispatch(A.RuntimeStarted(name, self.engine.now()))
        probe_task: asyncio.Task[None] | None = None
        if r.local.readiness_probe is not None:
            loop = ProbeLoop(
                r.local.readiness_probe,
                lambda ok: self.engine.dispatch(A.RuntimeReady(name, ok, self.engine.now())),
                sleep=self._sleep,
                on_result=ProbeReporter(self.engine, name),
            )
            probe_task = asyncio.ensure_future(loop.run())
        else:
            self.engine.dispatch(A.RuntimeReady(name, True, self.engine.now()))
        try:
            code = await handle.wait()
        finally:
            if probe_task is not None:
                probe_task.cancel()
                with contextlib.suppress(BaseException):
                    await probe_task
            # Cancelled (replaced, disabled, shutdown) or exited: never leave it behind.
            await asyncio.shield(handle.stop(self.grace))
        self.engine.log(name, f"serve_cmd exited with code {code}", source=LogSource.RUNTIME, error=True)
        self.engine.dispatch(A.RuntimeExited(name, code, self.engine.now()))
