"""A deterministic in-memory `ProcessRunner` for engine tests.

A plain function decides what each run does:

    def behaviour(spec: ProcessSpec) -> FakeRun:
        if spec.argv[-1] == "make ui":
            return FakeRun(lines=["built"], exit_code=0)
        return FakeRun(exit_code=1)

By default a run writes its lines during `start()` and has already exited; pass
`release=asyncio.Event()` to keep it running until the test sets the event (or
calls `handle.exit(code)`), which is how a test holds an update "in progress".
"""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lockstep.adapters.process import LineSink, ProcessSpec, ProcessStartError, Stream


@dataclass
class FakeRun:
    # A plain string goes to stdout; a (text, Stream) pair picks the stream.
    lines: Sequence[str | tuple[str, Stream]] = ()
    exit_code: int = 0
    # None: the process has exited as soon as start() returns.
    release: asyncio.Event | None = None
    # Written when the run exits (after `release`), before wait() returns.
    exit_lines: Sequence[str | tuple[str, Stream]] = ()
    # Non-empty: start() raises ProcessStartError(start_error).
    start_error: str = ""
    # What stop() reports when it has to kill a still-running fake.
    killed_exit_code: int = -signal.SIGTERM


_pids = itertools.count(100_000)


@dataclass
class FakeHandle:
    spec: ProcessSpec
    run: FakeRun
    on_line: LineSink
    pid: int = field(default_factory=lambda: next(_pids))
    stopped: bool = False
    exit_code: int | None = None
    _exited: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def running(self) -> bool:
        released = self.run.release is not None and self.run.release.is_set()
        return self.exit_code is None and not released

    def exit(self, code: int | None = None) -> None:
        """Make the fake process exit now (with `code`, or the run's exit code)."""
        if self.exit_code is not None:
            return
        _emit(self.run.exit_lines, self.on_line)
        self.exit_code = self.run.exit_code if code is None else code
        self._exited.set()

    async def wait(self) -> int:
        if self.exit_code is None and self.run.release is not None:
            release_wait = asyncio.ensure_future(self.run.release.wait())
            exited_wait = asyncio.ensure_future(self._exited.wait())
            try:
                await asyncio.wait([release_wait, exited_wait], return_when=asyncio.FIRST_COMPLETED)
            finally:
                release_wait.cancel()
                exited_wait.cancel()
        self.exit()
        assert self.exit_code is not None
        return self.exit_code

    async def stop(self, grace: float = 5.0) -> int:
        self.stopped = True
        if self.exit_code is None:
            self.exit(self.run.killed_exit_code)
        assert self.exit_code is not None
        return self.exit_code


def _emit(lines: Sequence[str | tuple[str, Stream]], on_line: LineSink) -> None:
    for item in lines:
        if isinstance(item, tuple):
            on_line(item[0], item[1])
        else:
            on_line(item, Stream.STDOUT)


class FakeProcessRunner:
    """Records every start; `handles` is in start order."""

    def __init__(self, behaviour: Callable[[ProcessSpec], FakeRun] | None = None) -> None:
        self._behaviour = behaviour or (lambda _spec: FakeRun())
        self.started: list[ProcessSpec] = []
        self.handles: list[FakeHandle] = []

    async def start(self, spec: ProcessSpec, on_line: LineSink) -> FakeHandle:
        run = self._behaviour(spec)
        if run.start_error:
            raise ProcessStartError(run.start_error)
        self.started.append(spec)
        handle = FakeHandle(spec=spec, run=run, on_line=on_line)
        self.handles.append(handle)
        _emit(run.lines, on_line)
        if run.release is None:
            handle.exit()
        return handle

    def running(self) -> list[FakeHandle]:
        return [h for h in self.handles if h.running]


if TYPE_CHECKING:
    from lockstep.adapters.process import ProcessRunner

    _runner: ProcessRunner = FakeProcessRunner()
