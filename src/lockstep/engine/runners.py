"""Update runners: how one update of one resource is carried out.

The engine talks to a runner through `UpdateRunner`; tests pass
`FunctionRunner` (a plain async function), production the `LocalRunner`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from lockstep.adapters.process import ProcessRunner, ProcessSpec, ProcessStartError, Stream
from lockstep.adapters.write_evidence import ProcessGroups
from lockstep.model.resource import Resource, ResourceKind

LogFn = Callable[[str, bool], None]  # (text, is_error)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    # What the update produced (image ref -> built ref), kept in the resource's state.
    outputs: tuple[tuple[str, str], ...] = ()


class UpdateRunner(Protocol):
    async def run(self, resource: Resource, update_id: int, log: LogFn) -> Outcome: ...


class FunctionRunner:
    """Adapts a plain async function; the seam the engine tests use."""

    def __init__(self, fn: Callable[[Resource, int, LogFn], Awaitable[Outcome]]) -> None:
        self._fn = fn

    async def run(self, resource: Resource, update_id: int, log: LogFn) -> Outcome:
        return await self._fn(resource, update_id, log)


class LocalRunner:
    """Runs a local_resource's `cmd` as a real process (own process group)."""

    def __init__(self, processes: ProcessRunner, groups: ProcessGroups | None = None) -> None:
        self._processes = processes
        # Where the writer-evidence check finds each running update's process group.
        self._groups = groups

    async def run(self, resource: Resource, update_id: int, log: LogFn) -> Outcome:
        if resource.kind is not ResourceKind.LOCAL or resource.local is None:
            return Outcome(False, f"{resource.kind.value} resources are not supported by this build yet")
        spec = resource.local
        if spec.cmd.empty:
            return Outcome(True)
        log(f"Running cmd: {spec.cmd.display()}", False)
        cwd = spec.dir or os.getcwd()
        try:
            handle = await self._processes.start(
                ProcessSpec(spec.cmd.argv, cwd, spec.env),
                lambda line, stream: log(line, stream is Stream.STDERR),
            )
        except ProcessStartError as exc:
            log(str(exc), True)
            return Outcome(False, str(exc))
        if self._groups is not None:
            self._groups.started(update_id, handle.pid)
        try:
            code = await handle.wait()
        finally:
            if self._groups is not None:
                self._groups.finished(update_id)
            # Cancelled (shutdown, resource removed) or exited: either way, stop
            # the whole group, so that a background child it left holds nothing.
            await handle.stop()
        if code != 0:
            return Outcome(False, f"cmd exited with code {code}")
        return Outcome(True)
