"""Assembles a real engine: subprocesses, reaper, logs on disk, watcher, serve.

`up` and `ci` both run through `run_app`; they differ only in when they stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockstep.adapters import scratch
from lockstep.adapters.docker_cleanup import RECORD as DOCKER_RECORD
from lockstep.adapters.docker_cleanup import Owner, sweep_recorded, tiltfile_key
from lockstep.adapters.process import SubprocessRunner, pidfd_child_watcher
from lockstep.adapters.reaper import Reaper
from lockstep.adapters.write_evidence import ProcessGroups
from lockstep.engine.boot import STOP_SIGNALS, UNSEEN, Boot, boot, held_stop_signals, tiltfile_stamp
from lockstep.engine.configload import RuntimeKind
from lockstep.engine.docker_labels import DockerLabels
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.evidence import EvidenceController
from lockstep.engine.gcpolicy import engine_gc
from lockstep.engine.lazy import LazyRunner, LazyRuntime, Once
from lockstep.engine.runners import LocalRunner, Runners, UpdateRunner
from lockstep.engine.serve import ServeController
from lockstep.engine.watch import WatchController
from lockstep.errors import FatalError
from lockstep.instance import step_down, write_pidfile
from lockstep.logs.store import LogStore
from lockstep.model.resource import ResourceKind, Settings
from lockstep.privatefile import write_private_json
from lockstep.statedir import state_dir
from lockstep.watch.backend import make_backend

if TYPE_CHECKING:
    from lockstep.adapters.docker import DockerCli
    from lockstep.adapters.kubectl import Cli
    from lockstep.engine.compose_runtime import Compose
    from lockstep.engine.image_runner import ImageBuilder
    from lockstep.engine.k8s_runner import Deployments


def build_engine(options: EngineOptions, *, subcommand: str = "up",
                 started: Boot | None = None) -> tuple[Engine, Reaper]:
    """The engine and its watchdog; `started` is what the command started before importing this
    module (engine/boot.py), else it is started here."""
    started = started or boot()
    sdir = options.state_dir or state_dir(options.tiltfile)
    reaper, evaluator = started.reaper, started.evaluator
    processes = SubprocessRunner(reaper)
    logs = LogStore(str(sdir / "logs"))
    groups = ProcessGroups(time.monotonic)
    _sweep_orphans(sdir, reaper.tag)
    _sweep_scratch(sdir)
    owner = Owner(tiltfile_key(options.tiltfile), reaper.tag, sdir / DOCKER_RECORD)
    engine: Engine | None = None

    def settings() -> Settings:
        return engine.snapshot.state.settings if engine is not None else Settings()

    # The image, Kubernetes and Compose sides are built at their first use (engine/lazy.py):
    # a Tiltfile of local resources does not load them.
    def make_docker() -> DockerCli:
        from lockstep.adapters.docker import DockerCli

        return DockerCli(processes)

    docker = Once(make_docker)

    def make_builder() -> ImageBuilder:
        from lockstep.engine.image_runner import ImageBuilder
        from lockstep.k8s.registry import from_settings

        # default_registry() comes from the Tiltfile: read it when a build runs.
        return ImageBuilder(docker.get(), registry=lambda: from_settings(settings()))

    builder = Once(make_builder)

    def make_compose() -> Compose:
        from lockstep.engine.compose_runtime import Compose

        return Compose(docker.get(), owner, override_dir=str(sdir / "compose"))

    compose = Once(make_compose)

    def make_kube() -> tuple[Cli, Deployments]:
        from lockstep.adapters.kubectl import Cli
        from lockstep.engine.k8s_runner import RECORD as K8S_RECORD
        from lockstep.engine.k8s_runner import Deployments

        kubectl = Cli(processes, os.path.dirname(os.path.abspath(options.tiltfile)))
        return kubectl, Deployments(record=lambda by: write_private_json(
            sdir / K8S_RECORD, {name: {"context": d.context, "objects": list(d.objects)} for name, d in by.items()}))

    kube = Once(make_kube)

    def k8s_runner() -> UpdateRunner:
        from lockstep.engine.image_runner import DockerImages
        from lockstep.engine.image_step import ImagesInOrder
        from lockstep.engine.k8s_runner import K8sRunner
        from lockstep.engine.live_k8s import K8sLive

        kubectl, deployments = kube.get()
        return K8sRunner(kubectl, settings, images=ImagesInOrder(DockerImages(builder.get())),
                         deployments=deployments, live=K8sLive(kubectl, deployments))

    def compose_runner() -> UpdateRunner:
        from lockstep.engine.image_runner import ImageRunner
        from lockstep.engine.live_compose import ComposeLive

        return ImageRunner(builder.get(), compose.get(), ComposeLive(compose.get()))

    engine = Engine(
        replace(options, state_dir=sdir),
        loader=lambda p, a: evaluator.load(p, a, subcommand=subcommand),
        runner=Runners({ResourceKind.LOCAL: LocalRunner(processes, groups),
                        ResourceKind.K8S: LazyRunner(k8s_runner),
                        ResourceKind.COMPOSE: LazyRunner(compose_runner)}),
        logs=logs,
        cancel_load=evaluator.cancel_all,
    )
    # An edit during a slow evaluation stops it and evaluates again.
    engine.config.restart_load = evaluator.restart_running
    engine.config.first_asked = started.asked
    live = engine

    def compose_runtime() -> RuntimeKind:
        from lockstep.engine.compose_runtime import ComposeController

        return ComposeController(live, compose.get())

    def k8s_runtime() -> RuntimeKind:
        from lockstep.engine.k8s_runtime import K8sRuntime

        return K8sRuntime(live, *kube.get())

    # Before the runtimes: it records that labelled containers may exist before they start.
    DockerLabels(engine, owner)
    engine.add_runtime(ServeController(engine, processes))
    engine.add_runtime(LazyRuntime(lambda r: r.compose is not None, compose_runtime))
    engine.add_runtime(LazyRuntime(lambda r: r.kind is ResourceKind.K8S, k8s_runtime))
    WatchController(engine, make_backend(), engine.tiltfile)
    EvidenceController(engine, groups)
    return engine, reaper


def _sweep_orphans(sdir: Path, run: str) -> None:
    """Containers an earlier run of this Tiltfile left when it was killed: removed before this
    run starts its own (see adapters/docker_cleanup.py)."""
    swept = sweep_recorded(sdir, keep_run=run)
    if swept is None:
        return
    if swept.describe():
        print(f"lockstep: removed {swept.describe()} left by an earlier run that did not stop cleanly",
              file=sys.stderr, flush=True)
    if swept.error:
        print(f"lockstep: warning: could not look for containers left by an earlier run: {swept.error}",
              file=sys.stderr, flush=True)


def _sweep_scratch(sdir: Path) -> None:
    """Build contexts and other scratch directories of earlier runs that were killed (see
    adapters/scratch.py); this run's go under the state dir from here on."""
    gone = scratch.sweep(sdir)
    if gone:
        print(f"lockstep: removed {len(gone)} scratch director{'ies' if len(gone) != 1 else 'y'} left by an "
              "earlier run that did not stop cleanly", file=sys.stderr, flush=True)
    scratch.use(sdir)


class _Signals:
    """SIGINT/SIGTERM/SIGHUP for the lifetime of one run: the first asks for a graceful stop,
    a second one skips the graceful waits (every process group is killed at once)."""

    def __init__(self, hurry: Callable[[], None]) -> None:
        self.stop = asyncio.Event()
        self.count = 0
        self._hurry = hurry
        self._loop = asyncio.get_running_loop()

    def _on_signal(self) -> None:
        self.count += 1
        if self.count == 1:
            self.stop.set()
        else:
            print("lockstep: stopping now (second signal): killing what is still running", file=sys.stderr)
            self._hurry()

    def __enter__(self) -> _Signals:
        for sig in STOP_SIGNALS:
            self._loop.add_signal_handler(sig, self._on_signal)
        # A stop that came after the command claimed the instance, before these handlers.
        for _ in range(held_stop_signals()):
            self._on_signal()
        return self

    def __exit__(self, *exc: object) -> None:
        for sig in STOP_SIGNALS:
            self._loop.remove_signal_handler(sig)


class _Run:
    """One run of the engine, in three phases: startup, run, shutdown."""

    def __init__(self, engine: Engine, reaper: Reaper, signals: _Signals) -> None:
        self.engine = engine
        self.reaper = reaper
        self.signals = signals
        self.sdir = state_dir(engine.tiltfile)
        started = asyncio.Event()
        self.started = started
        self.runner = asyncio.ensure_future(engine.run(started))

    async def startup(self, on_started: Callable[[Engine], None] | None) -> bool:
        """The first evaluation; False when a stop came first."""
        # on_started may spawn into the engine's TaskGroup, which exists only once run() has entered it.
        await self.started.wait()
        # The first evaluation may run slow `local()` commands: a stop must not wait for them.
        loading = asyncio.ensure_future(self.engine.initial_load_async())
        stopping = asyncio.ensure_future(self.signals.stop.wait())
        edits = asyncio.ensure_future(_restart_on_edit(self.engine))
        try:
            await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            edits.cancel()
        if not loading.done() or self.signals.stop.is_set():
            # A stop wins even when the evaluation is done too: it may have come first (held
            # while the engine was imported, and the evaluation asked for before that).
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loading
            return False
        stopping.cancel()
        loading.result()
        write_pidfile(self.sdir, {"pid": os.getpid(), "tiltfile": self.engine.tiltfile})
        self.engine.spawn(self.engine.logs.flush_periodically(), "log-flush")
        if on_started:
            on_started(self.engine)
        return True

    async def run(self, until: Callable[[Engine], Awaitable[int]] | None) -> int:
        """Until `until` returns an exit code, a stop signal (0), or an engine crash (1)."""
        code = 0
        waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(self.signals.stop.wait()), self.runner}
        finisher: asyncio.Future[int] | None = None
        if until is not None:
            finisher = asyncio.ensure_future(until(self.engine))
            waiters.add(finisher)
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if finisher is not None and finisher in done:
                code = finisher.result()
            elif self.runner in done:
                try:
                    self.runner.result()  # re-raise an engine crash
                except* FatalError as group:
                    for exc in group.exceptions:
                        print(f"lockstep: {exc}", file=sys.stderr)
                    code = 1
        finally:
            for w in waiters:
                if w is not self.runner and not w.done():
                    w.cancel()
        return code

    async def shutdown(self) -> None:
        # Cancellation is the stop signal: every controller's finally stops its processes.
        self.runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, BaseException):
            await self.runner
        # The spare evaluation child carries the run tag: stopped here, it is not left for the
        # reaper's sweep to find and wait for.
        if self.engine.config.cancel_load is not None:
            self.engine.config.cancel_load()
        # The watchdog exits while the last log lines are written; both are done before this returns.
        self.reaper.begin_close()
        try:
            self.engine.logs.close()
        finally:
            self.reaper.wait_closed()
        scratch.release()
        step_down(self.sdir)


async def run_app(
    engine: Engine,
    reaper: Reaper,
    until: Callable[[Engine], Awaitable[int]] | None,
    *,
    on_started: Callable[[Engine], None] | None = None,
) -> int:
    """Run until `until` returns an exit code, or until SIGINT/SIGTERM/SIGHUP (exit 0).

    A second such signal during the shutdown skips the graceful waits.
    """
    # engine_gc: the collector tuned for the engine's many short-lived objects (engine/gcpolicy.py).
    with _Signals(reaper.kill_now) as signals, pidfd_child_watcher(), engine_gc(engine.subscribe):
        run = _Run(engine, reaper, signals)
        try:
            if not await run.startup(on_started):
                return 0
            return await run.run(until)
        finally:
            await run.shutdown()


async def _restart_on_edit(engine: Engine) -> None:
    """During the first evaluation only (the watcher starts from its result): an edit of the
    Tiltfile restarts the evaluation, so fixing one blocked in a slow `local()` takes effect
    at once. A stat every 0.2 s of one file, for as long as that evaluation runs. The first
    look compares with the stamp taken when the evaluation was asked for, if that was
    earlier (engine/boot.py): an edit made while the engine was still being imported counts."""
    seen = engine.config.first_asked
    if seen == UNSEEN:
        seen = tiltfile_stamp(engine.tiltfile)
    while True:
        now = tiltfile_stamp(engine.tiltfile)
        if now != seen:
            seen = now
            engine.config.restart_first()
        await asyncio.sleep(0.2)
