"""The engine: the store, the step after each batch, and the update tasks, under one TaskGroup.

Data flows one way: controllers dispatch actions; the store reduces them; after
every batch `_step` plans the starts (`planning.plan_starts`: UpdateStarted is
applied *before* the work is spawned), records what changed (`Recorder`), arms
the `Ticker` for the earliest deadline and publishes one `Snapshot` to every
subscriber. Controllers see the engine only through `EnginePort`.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import os
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from lockstep.adapters.process import Stream
from lockstep.engine.clock import Clock, RealClock
from lockstep.engine.persist import load_inferred
from lockstep.engine.planning import plan_starts
from lockstep.engine.recorder import Recorder
from lockstep.engine.runners import Outcome, UpdateJob, UpdateRunner
from lockstep.engine.scheduler import Decision
from lockstep.engine.snapshot import Publisher, Snapshot, SnapshotSubscriber, next_snapshot
from lockstep.engine.ticker import Ticker
from lockstep.logs.store import LogLevel, LogSource, LogStore
from lockstep.model.resource import LoadResult, Resource
from lockstep.store import actions as A
from lockstep.store.state import EngineState, quiet_until
from lockstep.store.store import Store
from lockstep.watch.ignore import filesystem_roots, load_tiltignore

Loader = Callable[[str, Sequence[str]], LoadResult]


class LogStream(enum.StrEnum):
    """Log streams that belong to no resource (a str: the log store keys streams by name)."""

    # The Tiltfile's own output, errors and warnings, under Tilt's name for it.
    TILTFILE = "(Tiltfile)"


class RuntimeKind(Protocol):
    """What the engine asks a runtime controller (engine/runtime.py) at config load."""

    def handles(self, r: Resource) -> bool: ...


@dataclass(frozen=True)
class EngineOptions:
    """The engine's configuration, built whole (from the CLI) before the engine exists."""

    tiltfile: str
    args: Sequence[str] = ()
    state_dir: Path | None = None
    propagate: bool | None = None  # None: as the Tiltfile says (default on)
    # Resources that an upstream's update does not make stale (per-resource C2 opt-out).
    no_propagate_to: frozenset[str] = frozenset()
    # Coalescing window for file changes (C3); None keeps the defaults (200 ms quiet, 10 s max).
    quiet_secs: float | None = None
    max_wait_secs: float | None = None

    def applied_to(self, result: LoadResult) -> LoadResult:
        """The loaded configuration with the command line's overrides (they win over the Tiltfile)."""
        if self.no_propagate_to:
            result = replace(result, resources=tuple(
                replace(r, propagate=False) if r.name in self.no_propagate_to else r for r in result.resources
            ))
        settings = result.settings
        if self.quiet_secs is not None:
            settings = replace(settings, quiet_secs=self.quiet_secs)
        if self.max_wait_secs is not None:
            settings = replace(settings, max_wait_secs=self.max_wait_secs)
        if self.propagate is not None:
            settings = replace(settings, propagate=self.propagate)
        return replace(result, settings=settings)


class Engine:
    def __init__(
        self,
        options: EngineOptions,
        *,
        loader: Loader,
        runner: UpdateRunner,
        logs: LogStore,
        clock: Clock | None = None,
        cancel_load: Callable[[], None] | None = None,
    ) -> None:
        self.options = options
        self.tiltfile = os.path.abspath(options.tiltfile)
        self.args: list[str] = list(options.args)
        self.loader = loader
        # Kills what an evaluation running in a worker thread has started (its
        # `local()` commands), so that stopping never waits for a slow one.
        self.cancel_load = cancel_load
        self.runner = runner
        self.logs = logs
        self.clock: Clock = clock or RealClock()
        self.store = Store()
        self._published = Publisher()
        self._tg: asyncio.TaskGroup | None = None
        self._ticker = Ticker(self.clock, lambda at: self.store.dispatch(A.Tick(at)))
        self._tasks: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._recorder = Recorder(options.state_dir, logs.health) if options.state_dir else None
        self._ids = itertools.count(self._recorder.first_update_id if self._recorder else 1)
        self._reloading = False
        self._runtimes: list[RuntimeKind] = []
        self.first_load: LoadResult | None = None
        self.store.subscribe(self._step)

    # -- public -------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        return self.store.state

    @property
    def snapshot(self) -> Snapshot:
        """The last published (state, decision) pair: what request handlers read."""
        return self._published.current

    @property
    def decision(self) -> Decision:
        return self._published.current.decision

    def add_runtime(self, controller: RuntimeKind) -> None:
        """Register a runtime controller: the resources it handles have a runtime."""
        self._runtimes.append(controller)

    def subscribe(self, fn: SnapshotSubscriber) -> Callable[[], None]:
        """Call fn with every snapshot, after the engine's own step has acted on it."""
        return self._published.subscribe(fn)

    async def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float | None = None) -> Snapshot:
        return await self._published.wait_for(predicate, timeout)

    def dispatch(self, action: A.Action) -> None:
        self.store.dispatch(action)

    def now(self) -> float:
        return self.clock.now()

    def log(self, resource: str, text: str, *, source: LogSource = LogSource.SYSTEM, error: bool = False) -> None:
        self.logs.append(resource, source, text, self.clock.now(), LogLevel.ERROR if error else LogLevel.INFO)

    def initial_load(self) -> LoadResult:
        return self._first(self.loader(self.tiltfile, self.args))

    async def initial_load_async(self) -> LoadResult:
        """The first evaluation, off the event loop (signals stay responsive meanwhile)."""
        return self._first(await self._evaluate())

    def _first(self, result: LoadResult) -> LoadResult:
        self.first_load = result
        self._apply_load(result)
        if self.options.state_dir and result.ok:
            self.dispatch(A.RestoreInferred(load_inferred(self.options.state_dir), self.clock.now()))
        return result

    async def _evaluate(self) -> LoadResult:
        try:
            return await asyncio.to_thread(self.loader, self.tiltfile, list(self.args))
        except asyncio.CancelledError:
            if self.cancel_load is not None:
                self.cancel_load()
            raise

    def reload(self) -> None:
        """Re-evaluate the Tiltfile now (used by `args`); the next step starts it."""
        self.store.dispatch(A.ReloadRequested(self.clock.now()))

    async def run(self, started: asyncio.Event | None = None) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                tg.create_task(self.store.run())
                tg.create_task(self._ticker.run())
                if started:
                    started.set()
        finally:
            self._tg = None
            if self._recorder:
                self._recorder.close(self.store.state, self.clock.now())

    def spawn(self, coro: Coroutine[Any, Any, None], name: str = "") -> asyncio.Task[None]:
        assert self._tg is not None, "engine is not running"
        return self._tg.create_task(coro, name=name or None)

    # -- the step after every batch ----------------------------------------

    def _step(self, state: EngineState) -> None:
        decision, state, jobs = plan_starts(state, self.clock.now(), self._ids, self.store.apply_now)
        for job in jobs:
            name = job.resource.name
            self.log(name, f"Update #{job.update_id} starting: " + "; ".join(r.describe() for r in job.reasons))
            self._tasks[job.update_id] = (name, self.spawn(self._run_update(job), f"update-{name}"))
        for name, task in list(self._tasks.values()):
            if name not in state.resources:
                # Removed from the Tiltfile while updating: stop its command.
                task.cancel()
        if self._recorder:
            self._recorder.record(state, decision)
        wake = decision.wake_at
        cfg = self._config_deadline(state)
        if cfg is not None:
            if cfg <= state.now and not self._reloading:
                self._start_reload()
            elif cfg > state.now:
                wake = cfg if wake is None else min(wake, cfg)
        if wake is not None:
            self._ticker.arm(wake, state.now)
        # The state as the step left it (with its starts and a reload's start), with
        # the decision that was taken on it.
        self._published.publish(next_snapshot(self._published.current, self.store.state, decision))

    def _config_deadline(self, state: EngineState) -> float | None:
        if state.config_reload_requested:
            return state.now
        if state.config_dirty_since is None or state.config_last_change is None:
            return None
        return quiet_until(state.config_dirty_since, state.config_last_change, state.settings)

    async def _run_update(self, job: UpdateJob) -> None:
        name, update_id = job.resource.name, job.update_id

        def log(text: str, stream: Stream) -> None:
            self.log(name, text, source=LogSource.BUILD, error=stream is Stream.STDERR)

        try:
            outcome = await self.runner.run(job, log)
        except asyncio.CancelledError:
            self.store.dispatch(A.UpdateFinished(update_id, name, False, self.clock.now(), "cancelled"))
            raise
        except Exception as exc:  # a runner bug must not take the engine down
            outcome = Outcome(False, f"internal error: {exc!r}")
        finally:
            self._tasks.pop(update_id, None)
        if not outcome.ok:
            self.log(name, f"Update #{update_id} failed: {outcome.error}", source=LogSource.BUILD, error=True)
        self.store.dispatch(
            A.UpdateFinished(update_id, name, outcome.ok, self.clock.now(), outcome.error, outcome.outputs)
        )

    # -- configuration ----------------------------------------------------

    def _apply_load(self, result: LoadResult) -> None:
        now = self.clock.now()
        # Everything the reducers need to know about the machine is observed here, at the edge.
        result = replace(result, tiltfile=os.path.abspath(result.tiltfile))
        roots = filesystem_roots()
        # A runtime is what some registered controller supervises; nothing else waits for readiness.
        runtimes = frozenset(r.name for r in result.resources if any(c.handles(r) for c in self._runtimes))
        ignores = load_tiltignore(os.path.dirname(self.tiltfile))
        if ignores:
            # .tiltignore applies to every watch, like watch_settings(ignore=).
            merged = (*result.settings.watch_ignore, *ignores)
            result = replace(result, settings=replace(result.settings, watch_ignore=merged))
        if result.ok:
            result = self.options.applied_to(result)
            self.dispatch(A.ConfigLoaded(result, now, roots, runtimes))
            for text in result.printed:
                self.log(LogStream.TILTFILE, text)
            for w in result.warnings:
                self.log(LogStream.TILTFILE, w.render())
        else:
            self.dispatch(A.ConfigFailed(result.errors, now))
            for e in result.errors:
                self.log(LogStream.TILTFILE, e.render(), error=True)
            if self.state.config is None:
                # Nothing loaded yet: still watch the Tiltfile (and what it read) to retry.
                self.dispatch(A.ConfigLoaded(replace(result, resources=(), errors=()), now, roots))
                self.dispatch(A.ConfigFailed(result.errors, now))

    def _start_reload(self) -> None:
        self._reloading = True
        self.store.apply_now(A.ConfigReloadStarted(self.clock.now()))
        self.spawn(self._reload(), "reload")

    async def _reload(self) -> None:
        try:
            self.log(LogStream.TILTFILE, "Tiltfile changed: re-evaluating")
            self._apply_load(await self._evaluate())
        finally:
            self._reloading = False
