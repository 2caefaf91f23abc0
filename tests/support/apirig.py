"""Fixtures for the API tests: a real Engine in-process, with a function runner.

The runner does no I/O: each update logs a line and succeeds, except that a
resource named in `gates` waits for its asyncio.Event (a slow upstream the
test releases), and one named in `failing` fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from lockstep.adapters.process import Stream
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.runners import FunctionRunner, LogFn, Outcome, UpdateJob
from lockstep.logs.store import LogStore
from lockstep.tiltfile import load
from lockstep.ui.server import build_app

TILTFILE = textwrap.dedent("""
    local_resource('a', cmd='true', labels=['front'])
    local_resource('b', cmd='true', resource_deps=['a'], labels=['front'])
    local_resource('c', cmd='true', labels=['back'], links=[link('http://localhost:8123/', 'docs')])
    local_resource('m', cmd='true', trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False)
""")


@dataclass
class Rig:
    engine: Engine
    client: TestClient  # type: ignore[type-arg]
    token: str
    gates: dict[str, asyncio.Event] = field(default_factory=dict)

    def auth(self, **extra: str) -> dict[str, str]:
        return {"X-Lockstep-Token": self.token, **extra}

    async def login(self) -> None:
        """Open the URL `up` prints, as the browser does: the client keeps the session cookie."""
        res = await self.client.get("/", params={"token": self.token}, allow_redirects=False)
        assert res.status == 303 and res.headers["Location"] == "/", res.status

    def logout(self) -> None:
        self.client.session.cookie_jar.clear()

    async def until(self, predicate: object, timeout: float = 10.0) -> None:
        await self.engine.store.wait_for(predicate, timeout)  # type: ignore[arg-type]


@asynccontextmanager
async def rig(
    tmp_path: Path, tiltfile: str = TILTFILE, gated: tuple[str, ...] = (), failing: tuple[str, ...] = ()
) -> AsyncIterator[Rig]:
    tf = tmp_path / "Tiltfile"
    tf.write_text(tiltfile)
    gates = {name: asyncio.Event() for name in gated}

    async def work(job: UpdateJob, log: LogFn) -> Outcome:
        log(f"working on {job.resource.name} #{job.update_id}", Stream.STDOUT)
        if job.resource.name in gates:
            await gates[job.resource.name].wait()
        if job.resource.name in failing:
            log(f"ERROR: {job.resource.name} is broken", Stream.STDERR)
            log("cleaning up", Stream.STDOUT)
            return Outcome(False, "cmd exited with code 2")
        return Outcome(True)

    engine = Engine(
        EngineOptions(tiltfile=str(tf)),
        loader=lambda p, a: load(p, a),
        runner=FunctionRunner(work),
        logs=LogStore(None),
    )
    started = asyncio.Event()
    runner = asyncio.ensure_future(engine.run(started))
    await started.wait()
    engine.initial_load()
    app = build_app(engine, token="test-token")
    try:
        async with TestServer(app, host="127.0.0.1") as server, TestClient(server) as client:
            r = Rig(engine, client, "test-token", gates)
            await r.login()
            yield r
    finally:
        for g in gates.values():
            g.set()
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
