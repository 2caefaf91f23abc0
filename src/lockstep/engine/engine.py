"""The engine: the store, the step after each batch, and the update tasks, under one TaskGroup.

Data flows one way: controllers dispatch actions; the store reduces them; after
every batch `_step` plans the starts (`planning.plan_starts`: UpdateStarted is
applied *before* the work is spawned), records what changed (`Recorder`), lets
the `ConfigController` start a due Tiltfile reload, arms the `Ticker` for the
earliest deadline and publishes one `Snapshot` to every subscriber.
Controllers see the engine only through `EnginePort`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lockstep.adapters.process import Stream
from lockstep.engine.clock import Clock, RealClock
from lockstep.engine.configload import ConfigController, Loader, RuntimeKind
from lockstep.engine.incremental import IncrementalScheduler
from lockstep.engine.planning import plan_starts
from lockstep.engine.recorder import Recorder
from lockstep.engine.runners import Outcome, UpdateJob, UpdateRunner
from lockstep.engine.scheduler import Decision
from lockstep.engine.snapshot import Publisher, Snapshot, SnapshotSubscriber, next_snapshot
from lockstep.engine.ticker import Ticker
from lockstep.logs.levels import level_of
from lockstep.logs.store import LogLevel, LogSource, LogStore, LogStream
from lockstep.model.resource import LoadResult
from lockstep.store import actions as A
from lockstep.store.state import EngineState
from lockstep.store.store import Store


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
        self.runner = runner
        self.logs = logs
        self.clock: Clock = clock or RealClock()
        self.store = Store()
        self._scheduler = IncrementalScheduler()
        self._published = Publisher()
        self._tg: asyncio.TaskGroup | None = None
        self._ticker = Ticker(self.clock, lambda at: self.store.dispatch(A.Tick(at)))
        self._tasks: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._stopping: set[int] = set()
        # The scheduler generation (engine/incremental.py) the running updates were last checked at.
        self._tasks_checked = -1
        self._recorder = Recorder(options.state_dir, logs.health) if options.state_dir else None
        self._ids = itertools.count(self._recorder.first_update_id if self._recorder else 1)
        self.config = ConfigController(self, loader, cancel_load)
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
        self.config.runtimes.append(controller)

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

    def log_output(self, resource: str, text: str, source: LogSource, stderr: bool,
                   level: LogLevel | None = None) -> None:
        """A line a process printed: its level comes from its content (or `level`, read from
        the line before a prefix was added), the stream is kept apart."""
        stream = LogStream.STDERR if stderr else LogStream.STDOUT
        self.logs.append(resource, source, text, self.clock.now(), level or level_of(text), stream)

    # -- the Tiltfile (engine/configload.py) ----------------------------------

    def initial_load(self) -> LoadResult:
        return self.config.initial_load()

    async def initial_load_async(self) -> LoadResult:
        """The first evaluation, off the event loop (signals stay responsive meanwhile)."""
        return await self.config.initial_load_async()

    @property
    def first_load(self) -> LoadResult | None:
        return self.config.first_load

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
        decision, state, jobs = plan_starts(
            state, self.clock.now(), self._ids, self.store.apply_now, self._scheduler.decide
        )
        for job in jobs:
            name = job.resource.name
            self.log(name, f"Update #{job.update_id} starting: " + "; ".join(r.describe() for r in job.reasons))
            self._tasks[job.update_id] = (name, self.spawn(self._run_update(job), f"update-{name}"))
        if self._tasks and self._scheduler.generation != self._tasks_checked:
            # Only a new configuration or a change of the disabled set (each a scheduler
            # rebuild) can remove or disable a running resource: no walk after other batches.
            self._tasks_checked = self._scheduler.generation
            self._stop_removed_or_disabled(state)
        wake = decision.wake_at
        cfg = self.config.on_step(state)
        if cfg is not None:
            wake = cfg if wake is None else min(wake, cfg)
        if wake is not None:
            self._ticker.arm(wake, state.now)
        # The state as the step left it (with its starts and a reload's start), with
        # the decision that was taken on it.
        snap = next_snapshot(self._published.current, self.store.state, decision)
        if self._recorder:
            # Only the resources the snapshot says changed can have new holds to write.
            self._recorder.record(snap.state, decision, snap.changed)
        self._published.publish(snap)

    def _stop_removed_or_disabled(self, state: EngineState) -> None:
        for update_id, (name, task) in list(self._tasks.items()):
            gone = name not in state.resources
            if (gone or not state.statuses[name].enabled) and update_id not in self._stopping:
                # Removed from the Tiltfile or disabled while updating: stop its
                # command's process group (as on shutdown), which frees its slot.
                self._stopping.add(update_id)
                self.log(name, f"Update #{update_id} stopped: resource {'removed' if gone else 'disabled'}")
                task.cancel()

    async def _run_update(self, job: UpdateJob) -> None:
        name, update_id = job.resource.name, job.update_id

        def log(text: str, stream: Stream) -> None:
            self.log_output(name, text, LogSource.BUILD, stream is Stream.STDERR)

        try:
            outcome = await self.runner.run(job, log)
        except asyncio.CancelledError:
            self.store.dispatch(A.UpdateFinished(update_id, name, False, self.clock.now(), "cancelled", cancelled=True))
            raise
        except Exception as exc:  # a runner bug must not take the engine down
            outcome = Outcome(False, f"internal error: {exc!r}")
        finally:
            self._tasks.pop(update_id, None)
            self._stopping.discard(update_id)
        if not outcome.ok:
            self.log(name, f"Update #{update_id} failed: {outcome.error}", source=LogSource.BUILD, error=True)
        self.store.dispatch(
            A.UpdateFinished(update_id, name, outcome.ok, self.clock.now(), outcome.error, outputs=outcome.outputs,
                              live_update=outcome.live_update)
        )
