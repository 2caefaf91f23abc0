"""Evaluating the Tiltfile: the first time, and again when an input changed or a reload was asked for.

The engine's step asks `on_step` after every batch: a reload starts once the
Tiltfile's inputs have been quiet for the window (or at once for
`ReloadRequested`), in a worker thread, and the result is applied as
`ConfigLoaded` / `ConfigFailed`. The command line's overrides, `.tiltignore`
and the facts about the machine the reducers need (which directories exist at
`/`, which resources some runtime controller supervises) are added here, at
the edge. While a reload is pending or running, the scheduler holds every
start (`engine/rules.py`, "tiltfile reload").
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from lockstep.engine.boot import UNSEEN, Stamp
from lockstep.engine.persist import load_inferred_evidence
from lockstep.model.resource import LoadResult, Resource
from lockstep.model.update import SystemLog
from lockstep.store import actions as A
from lockstep.store.state import EngineState, quiet_until
from lockstep.watch.ignore import filesystem_roots, load_tiltignore

if TYPE_CHECKING:
    from lockstep.engine.engine import Engine

Loader = Callable[[str, Sequence[str]], LoadResult]
# How often to look again while a stopped evaluation winds down (it returns within ms).
_WIND_DOWN = 0.05


class RuntimeKind(Protocol):
    """What the engine asks a runtime controller (engine/runtime.py) at config load."""

    def handles(self, r: Resource) -> bool: ...


def reload_deadline(state: EngineState) -> float | None:
    """When the pending reload is due: now if asked for, else after the inputs' quiet window."""
    if state.config_reload_requested:
        return state.now
    if state.config_dirty_since is None or state.config_last_change is None:
        return None
    return quiet_until(state.config_dirty_since, state.config_last_change, state.settings)


class ConfigController:
    def __init__(self, engine: Engine, loader: Loader, cancel_load: Callable[[], None] | None) -> None:
        self.engine = engine
        self.loader = loader
        # Kills what an evaluation running in a worker thread has started (its
        # `local()` commands), so that stopping never waits for a slow one.
        self.cancel_load = cancel_load
        self.runtimes: list[RuntimeKind] = []
        self.first_load: LoadResult | None = None
        self._reloading = False
        # Stops the evaluation running now so that it can start over (not for good); set
        # where evaluations run in a child process (engine/app.py).
        self.restart_load: Callable[[], None] | None = None
        # The Tiltfile's stamp when the first evaluation was asked for, if that was before the
        # engine ran (engine/boot.py): an edit since then restarts it (engine/app.py).
        self.first_asked: Stamp = UNSEEN
        self._superseded = False

    def initial_load(self) -> LoadResult:
        return self._first(self.loader(self.engine.tiltfile, self.engine.args))

    async def initial_load_async(self) -> LoadResult:
        while True:
            result = await self._evaluate()
            if not self._superseded:
                return self._first(result)
            self._superseded = False  # stopped by restart_first(): evaluate the edited files

    def restart_first(self) -> None:
        """The Tiltfile changed during the first evaluation (nothing watches it yet: the
        watch follows the loaded configuration): stop that evaluation and start over."""
        # After _first() the watcher and on_step() take over.
        if self.restart_load is not None and not self._superseded and self.first_load is None:
            self._superseded = True
            self.engine.log(SystemLog.TILTFILE, "Tiltfile changed while it was being evaluated: "
                            "restarting the evaluation")
            self.restart_load()

    def on_step(self, state: EngineState) -> float | None:
        """Start a reload that is due; otherwise the time it will be due, for the ticker."""
        if self._superseded:
            return state.now + _WIND_DOWN  # until the stopped evaluation has returned
        due = reload_deadline(state)
        if due is None:
            return None
        if due > state.now:
            return due
        if self._reloading and self.restart_load is not None:
            # The inputs changed again while the Tiltfile was being evaluated (a slow
            # local(), say): that evaluation can only produce a stale result, and the user
            # is editing to fix it. Stop it and start over.
            self._superseded = True
            self.engine.log(SystemLog.TILTFILE, "Tiltfile changed while it was being evaluated: "
                            "restarting the evaluation")
            self.restart_load()
            return state.now + _WIND_DOWN
        if not self._reloading:
            self._reloading = True
            self.engine.store.apply_now(A.ConfigReloadStarted(self.engine.now()))
            # A change to the Tiltfile's files, or only a request (`lockstep args`): say which.
            why = "Tiltfile changed" if state.config_dirty_since is not None else "re-evaluation requested (arguments)"
            self.engine.spawn(self._reload(why), "reload")
        return None

    def _first(self, result: LoadResult) -> LoadResult:
        self.first_load = result
        self._apply(result)
        state_dir = self.engine.options.state_dir
        if state_dir and result.ok:
            known = load_inferred_evidence(state_dir)
            self.engine.dispatch(A.RestoreInferred(frozenset(known), self.engine.now(), tuple(known.items())))
        return result

    async def _evaluate(self) -> LoadResult:
        try:
            return await asyncio.to_thread(self.loader, self.engine.tiltfile, list(self.engine.args))
        except asyncio.CancelledError:
            if self.cancel_load is not None:
                self.cancel_load()
            raise

    async def _reload(self, why: str) -> None:
        try:
            self.engine.log(SystemLog.TILTFILE, f"{why}: re-evaluating")
            result = await self._evaluate()
            if not self._superseded:
                self._apply(result)
        finally:
            self._reloading = False
            self._superseded = False

    def _apply(self, result: LoadResult) -> None:
        engine = self.engine
        now = engine.now()
        # Everything the reducers need to know about the machine is observed here, at the edge.
        result = replace(result, tiltfile=os.path.abspath(result.tiltfile))
        roots = filesystem_roots()
        # A runtime is what some registered controller supervises; nothing else waits for readiness.
        runtimes = frozenset(r.name for r in result.resources if any(c.handles(r) for c in self.runtimes))
        ignores = load_tiltignore(os.path.dirname(engine.tiltfile))
        if ignores:
            # .tiltignore applies to every watch, like watch_settings(ignore=).
            merged = (*result.settings.watch_ignore, *ignores)
            result = replace(result, settings=replace(result.settings, watch_ignore=merged))
        if result.ok:
            result = engine.options.applied_to(result)
            engine.dispatch(A.ConfigLoaded(result, now, roots, runtimes))
            for text in result.printed:
                engine.log(SystemLog.TILTFILE, text)
            for w in result.warnings:
                engine.log(SystemLog.TILTFILE, w.render())
        else:
            engine.dispatch(A.ConfigFailed(result.errors, now))
            for e in result.errors:
                engine.log(SystemLog.TILTFILE, e.render(), error=True)
            if engine.state.config is None:
                # Nothing loaded yet: still watch the Tiltfile (and what it read) to retry.
                engine.dispatch(A.ConfigLoaded(replace(result, resources=(), errors=()), now, roots))
                engine.dispatch(A.ConfigFailed(result.errors, now))
