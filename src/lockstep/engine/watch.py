"""Watch controller: one watch over the union of watched paths, re-armed on reload.

Only the roots that resources (and the Tiltfile's own inputs) name are watched,
never the whole repository. Changes go to the store stamped with the engine's
clock; the quiet window is applied by the scheduler, not here.
"""

from __future__ import annotations

import asyncio
import os

from lockstep.engine.port import EnginePort
from lockstep.model.update import SystemLog
from lockstep.store import actions as A
from lockstep.store.state import EngineState
from lockstep.watch.backend import WatchBackend
from lockstep.watch.ignore import IgnoreMatcher


class WatchController:
    def __init__(self, engine: EnginePort, backend: WatchBackend, tiltfile: str) -> None:
        self.engine = engine
        self.backend = backend
        self.tiltfile = tiltfile
        self._roots: tuple[str, ...] = ()
        self._config_files: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None
        self._generation = -1
        engine.subscribe(lambda snap: self._on_state(snap.state))

    def _on_state(self, state: EngineState) -> None:
        if state.config_generation == self._generation:
            return
        self._generation = state.config_generation
        config_files = frozenset(state.config.config_files) if state.config else frozenset()
        config_files |= {self.tiltfile}
        roots = tuple(sorted(set(state.paths.roots() if state.paths else ()) | config_files))
        self._config_files = config_files
        if roots == self._roots and self._task is not None:
            return
        self._roots = roots
        if self._task is not None:
            self._task.cancel()
        base = os.path.dirname(self.tiltfile)
        ignore = IgnoreMatcher(base, list(state.settings.watch_ignore))
        self._task = self.engine.spawn(self.backend.run(roots, ignore.matches_dir, self._on_paths, self._warn),
                                       "watch")

    def _warn(self, text: str) -> None:
        # Watched paths come from the Tiltfile: its log is where the user looks for why.
        self.engine.log(SystemLog.TILTFILE, text)

    def _on_paths(self, paths: set[str]) -> None:
        now = self.engine.now()
        config = frozenset(p for p in paths if p in self._config_files)
        if config:
            self.engine.dispatch(A.ConfigFilesChanged(config, now))
        rest = frozenset(paths) - config
        if rest:
            self.engine.dispatch(A.FilesChanged(rest, now))
