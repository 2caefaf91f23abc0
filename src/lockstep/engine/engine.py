"""The engine: store + scheduler step + controllers, under one TaskGroup.

Data flows one way: controllers dispatch actions; the store reduces them; after
every batch `_step` asks the pure scheduler what may start, applies
UpdateStarted *before* spawning the work, and arms a tick for the earliest
quiet-window deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lockstep.engine.clock import Clock, RealClock
from lockstep.engine.persist import StateFiles, load_inferred_evidence, read_history
from lockstep.engine.runners import Outcome, UpdateRunner
from lockstep.engine.scheduler import Decision, next_updates
from lockstep.logs.store import LogLevel, LogSource, LogStore
from lockstep.model.resource import LoadResult
from lockstep.model.update import HoldReason, UpdateResult
from lockstep.store import actions as A
from lockstep.store.state import EngineState
from lockstep.store.store import Store
from lockstep.watch.ignore import load_tiltignore

Loader = Callable[[str, Sequence[str]], LoadResult]


@dataclass
class EngineOptions:
    tiltfile: str
    args: Sequence[str] = ()
    state_dir: Path | None = None
    propagate: bool | None = None  # None: as the Tiltfile says (default on)
    # Resources that an upstream's update does not make stale (per-resource C2 opt-out).
    no_propagate_to: frozenset[str] = frozenset()
    # Coalescing window for file changes (C3); None keeps the defaults (200 ms quiet, 10 s max).
    quiet_secs: float | None = None
    max_wait_secs: float | None = None


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
        self.decision = Decision()
        self._tg: asyncio.TaskGroup | None = None
        self._wake = asyncio.Event()
        self._wake_at: float | None = None
        self._tasks: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._stopping: set[int] = set()
        self._files = StateFiles(options.state_dir, logs.health) if options.state_dir else None
        self._next_id = 1 + max((r.id for r in read_history(options.state_dir)), default=0) if (
            options.state_dir
        ) else 1
        self._written = 0
        self._holds: dict[str, tuple[HoldReason, ...]] = {}
        self._inferred_saved: frozenset[tuple[str, str]] = frozenset()
        self._reloading = False
        self.first_load: LoadResult | None = None
        self.store.subscribe(self._step)

    # -- public -------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        return self.store.state

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
            known = load_inferred_evidence(self.options.state_dir)
            self.dispatch(A.RestoreInferred(frozenset(known), self.clock.now(), tuple(known.items())))
        return result

    async def _evaluate(self) -> LoadResult:
        try:
            return await asyncio.to_thread(self.loader, self.tiltfile, list(self.args))
        except asyncio.CancelledError:
            if self.cancel_load is not None:
                self.cancel_load()
            raise

    def reload(self) -> None:
        """Re-evaluate the Tiltfile now (used by `args`)."""
        # A config change dated long enough ago that its quiet window has already
        # passed: the next step starts the reload at once, through the usual path.
        self.store.dispatch(A.ConfigFilesChanged(frozenset(), self.clock.now() - 3600))

    async def run(self, started: asyncio.Event | None = None) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                tg.create_task(self.store.run())
                tg.create_task(self._ticker())
                if started:
                    started.set()
        finally:
            self._tg = None
            if self._files:
                # Updates cut short by the shutdown are history too (C8).
                for s in self.store.state.rs.values():
                    if s.running is not None:
                        self._files.append_update(
                            replace(s.running, end=self.clock.now(), result=UpdateResult.CANCELLED, error="shutdown")
                        )
                self._files.close()

    def spawn(self, coro: object, name: str = "") -> asyncio.Task[None]:
        assert self._tg is not None, "engine is not running"
        return self._tg.create_task(coro, name=name or None)  # type: ignore[arg-type]

    # -- the step after every batch ----------------------------------------

    def _step(self, state: EngineState) -> None:
        decision = next_updates(state)
        for name in decision.starts:
            update_id = self._next_id
            self._next_id += 1
            state = self.store.apply_now(A.UpdateStarted(update_id, name, self.clock.now()))
            record = state.rs[name].running
            assert record is not None
            self.log(name, f"Update #{update_id} starting: " + "; ".join(r.describe() for r in record.reasons))
            self._tasks[update_id] = (name, self.spawn(self._run_update(name, update_id), f"update-{name}"))
        for update_id, (name, task) in list(self._tasks.items()):
            gone = name not in state.resources
            if (gone or not state.rs[name].enabled) and update_id not in self._stopping:
                # Removed from the Tiltfile or disabled while updating: stop its
                # command's process group (as on shutdown), which frees its slot.
                self._stopping.add(update_id)
                self.log(name, f"Update #{update_id} stopped: resource {'removed' if gone else 'disabled'}")
                task.cancel()
        # No second pass: the scheduler already accounted for these starts
        # (capacity, running set) while deciding, in topological order.
        self.decision = decision
        self._persist(state, decision)
        wake = decision.wake_at
        cfg = self._config_deadline(state)
        if cfg is not None:
            if cfg <= state.now and not self._reloading:
                self._start_reload()
            elif cfg > state.now:
                wake = cfg if wake is None else min(wake, cfg)
        if wake is not None and (self._wake_at is None or wake < self._wake_at or self._wake_at <= state.now):
            self._wake_at = wake
            self._wake.set()

    def _config_deadline(self, state: EngineState) -> float | None:
        if state.config_dirty_since is None or state.config_last_change is None:
            return None
        return min(
            state.config_last_change + state.settings.quiet_secs,
            state.config_dirty_since + state.settings.max_wait_secs,
        )

    async def _ticker(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            deadline = self._wake_at
            if deadline is None:
                continue
            sleeper = asyncio.ensure_future(self.clock.sleep_until(deadline))
            woken = asyncio.ensure_future(self._wake.wait())
            done, _ = await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
            for t in (sleeper, woken):
                if t not in done:
                    t.cancel()
            if sleeper in done:
                self._wake_at = None
                self.store.dispatch(A.Tick(self.clock.now()))

    async def _run_update(self, name: str, update_id: int) -> None:
        resource = self.state.resources[name]

        def log(text: str, is_error: bool) -> None:
            self.log(name, text, source=LogSource.BUILD, error=is_error)

        try:
            outcome = await self.runner.run(resource, update_id, log)
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
        self.store.dispatch(A.UpdateFinished(update_id, name, outcome.ok, self.clock.now(), outcome.error,
                                             outcome.outputs))

    # -- configuration ----------------------------------------------------

    def _apply_load(self, result: LoadResult) -> None:
        now = self.clock.now()
        ignores = load_tiltignore(os.path.dirname(self.tiltfile))
        if ignores:
            # .tiltignore applies to every watch, like watch_settings(ignore=).
            merged = (*result.settings.watch_ignore, *ignores)
            result = replace(result, settings=replace(result.settings, watch_ignore=merged))
        if result.ok:
            if self.options.no_propagate_to:
                result = replace(result, resources=tuple(
                    replace(r, propagate=False) if r.name in self.options.no_propagate_to else r
                    for r in result.resources
                ))
            if self.options.quiet_secs is not None:
                result = replace(result, settings=replace(result.settings, quiet_secs=self.options.quiet_secs))
            if self.options.max_wait_secs is not None:
                result = replace(result, settings=replace(result.settings, max_wait_secs=self.options.max_wait_secs))
            if self.options.propagate is not None:
                result = replace(result, settings=replace(result.settings, propagate=self.options.propagate))
            self.dispatch(A.ConfigLoaded(result, now))
            for text in result.printed:
                self.log("(Tiltfile)", text)
            for w in result.warnings:
                self.log("(Tiltfile)", w.render())
        else:
            self.dispatch(A.ConfigFailed(result.errors, now))
            for e in result.errors:
                self.log("(Tiltfile)", e.render(), error=True)
            if self.state.config is None:
                # Nothing loaded yet: still watch the Tiltfile (and what it read) to retry.
                self.dispatch(A.ConfigLoaded(replace(result, resources=(), errors=()), now))
                self.dispatch(A.ConfigFailed(result.errors, now))

    def _start_reload(self) -> None:
        self._reloading = True
        self.store.apply_now(A.ConfigReloadStarted(self.clock.now()))
        self.spawn(self._reload(), "reload")

    async def _reload(self) -> None:
        try:
            self.log("(Tiltfile)", "Tiltfile changed: re-evaluating")
            self._apply_load(await self._evaluate())
        finally:
            self._reloading = False

    # -- persistence --------------------------------------------------------

    def _persist(self, state: EngineState, decision: Decision) -> None:
        if self._files is None:
            return
        new = state.finished_total - self._written
        if new > 0:
            for record in state.history[-new:]:
                self._files.append_update(record)
            self._written = state.finished_total
        if state.inferred != self._inferred_saved:
            self._inferred_saved = state.inferred
            self._files.save_inferred(state.inferred, state.evidence)
        changed = False
        for name in set(self._holds) | set(decision.holds):
            held = decision.holds.get(name, ())
            if self._holds.get(name, ()) != held:
                self._files.append_holds(state.now, name, held)
                changed = True
        if changed:
            self._holds = dict(decision.holds)

    async def cancel_updates(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
