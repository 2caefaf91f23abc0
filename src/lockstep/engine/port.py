"""The engine as its controllers see it: a small port.

Controllers (runtimes, the watch) and the views need only this: the last
snapshot, a way to dispatch actions and to hear about new snapshots, a task
owner, the clock's `now` and the log. So a controller can be tested against
anything that offers these six, and the engine's other jobs stay its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from lockstep.engine.snapshot import Snapshot, SnapshotSubscriber
from lockstep.logs.store import LogLevel, LogSource
from lockstep.store import actions as A


class EnginePort(Protocol):
    @property
    def snapshot(self) -> Snapshot: ...

    def dispatch(self, action: A.Action) -> None: ...

    def subscribe(self, fn: SnapshotSubscriber) -> Callable[[], None]: ...

    def spawn(self, coro: Coroutine[Any, Any, None], name: str = "") -> asyncio.Task[None]: ...

    def now(self) -> float: ...

    def log(self, resource: str, text: str, *, source: LogSource = LogSource.SYSTEM, error: bool = False) -> None: ...

    def log_output(self, resource: str, text: str, source: LogSource, stderr: bool,
                   level: LogLevel | None = None) -> None: ...
