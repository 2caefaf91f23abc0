"""Assembles a real engine: subprocesses, reaper, logs on disk, watcher, serve.

`up` and `ci` both run through `run_app`; they differ only in when they stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from lockstep.adapters.docker import DockerCli
from lockstep.adapters.process import SubprocessRunner
from lockstep.adapters.reaper import Reaper
from lockstep.adapters.write_evidence import ProcessGroups
from lockstep.engine.compose_runtime import Compose, ComposeController
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.evidence import EvidenceController
from lockstep.engine.image_runner import ImageBuilder, ImageRunner, KindRouter
from lockstep.engine.runners import LocalRunner
from lockstep.engine.serve import ServeController
from lockstep.engine.watch import WatchController
from lockstep.errors import FatalError
from lockstep.instance import PIDFILE, read_pidfile, release, write_pidfile
from lockstep.logs.store import LogStore
from lockstep.model.resource import LoadResult
from lockstep.statedir import state_dir
from lockstep.watch.backend import make_backend


def load_tiltfile(path: str, args: Sequence[str], subcommand: str = "up") -> LoadResult:
    from lockstep.tiltfile import load

    return load(path, args, subcommand=subcommand)


def cancel_load_commands() -> None:
    from lockstep.tiltfile import commands

    commands.cancel_all()


def build_engine(tiltfile: str, args: Sequence[str], *, subcommand: str = "up") -> tuple[Engine, Reaper]:
    sdir = state_dir(tiltfile)
    reaper = Reaper()
    reaper.start()
    processes = SubprocessRunner(reaper)
    logs = LogStore(str(sdir / "logs"))
    groups = ProcessGroups(time.monotonic)
    docker = DockerCli(processes)
    compose = Compose(docker)
    engine = Engine(
        EngineOptions(tiltfile=tiltfile, args=args, state_dir=sdir),
        loader=lambda p, a: load_tiltfile(p, a, subcommand),
        runner=KindRouter(LocalRunner(processes, groups), ImageRunner(ImageBuilder(docker), compose)),
        logs=logs,
        cancel_load=cancel_load_commands,
    )
    ServeController(engine, processes)
    ComposeController(engine, compose)
    WatchController(engine, make_backend())
    EvidenceController(engine, groups)
    return engine, reaper


async def run_app(
    engine: Engine,
    reaper: Reaper,
    until: Callable[[Engine], Awaitable[int]] | None,
    *,
    on_started: Callable[[Engine], None] | None = None,
) -> int:
    """Run until `until` returns an exit code, or until SIGINT/SIGTERM (exit 0)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sdir = state_dir(engine.tiltfile)
    code = 0
    running = asyncio.Event()
    runner = asyncio.ensure_future(engine.run(running))
    try:
        # on_started may spawn into the engine's TaskGroup, which exists only once run() has entered it.
        await running.wait()
        # The first evaluation may run slow `local()` commands: a stop must not wait for them.
        loading = asyncio.ensure_future(engine.initial_load_async())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not loading.done():
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading
            return 0
        stopping.cancel()
        loading.result()
        write_pidfile(sdir, {"pid": os.getpid(), "tiltfile": engine.tiltfile})
        engine.spawn(engine.logs.flush_periodically(), "log-flush")
        if on_started:
            on_started(engine)
        waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(stop.wait()), runner}
        finisher: asyncio.Future[int] | None = None
        if until is not None:
            finisher = asyncio.ensure_future(until(engine))
            waiters.add(finisher)
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if finisher is not None and finisher in done:
            code = finisher.result()
        elif runner in done:
            try:
                runner.result()  # re-raise an engine crash
            except* FatalError as group:
                for exc in group.exceptions:
                    print(f"lockstep: {exc}", file=sys.stderr)
                code = 1
        for w in waiters:
            if w is not runner and not w.done():
                w.cancel()
    finally:
        # Cancellation is the stop signal: every controller's finally stops its processes.
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, BaseException):
            await runner
        engine.logs.close()
        reaper.close()
        with contextlib.suppress(OSError):
            if (read_pidfile(sdir) or {}).get("pid") == os.getpid():
                (sdir / PIDFILE).unlink()
        release(sdir)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return code
