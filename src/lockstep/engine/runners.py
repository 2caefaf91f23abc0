"""Update runners: how one update of one resource is carried out, by kind.

The engine hands a runner an `UpdateJob` (the resource, the update's id and
reasons, the changed paths, what the previous update produced) and gets back
an `Outcome` (success, an error, and the outputs kept for the next update).
`Runners` maps each resource kind to its runner; `LocalRunner` is the entry
for local resources. Tests pass `FunctionRunner` (a plain async function).
Log lines go to a sink with a typed stream (stdout or stderr).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from lockstep.adapters.process import LineSink, ProcessHandle, ProcessRunner, ProcessSpec, ProcessStartError, Stream
from lockstep.adapters.write_evidence import ProcessGroups
from lockstep.model.resource import Cmd, Resource, ResourceKind
from lockstep.model.update import Outputs, Reason, ReasonKind

# A runner's log sink: one line and the stream it belongs to (stderr shows as an error).
LogFn = LineSink


@dataclass(frozen=True)
class UpdateJob:
    resource: Resource
    update_id: int
    reasons: tuple[Reason, ...] = ()
    # The files whose change asked for this update (empty for other reasons).
    changed_paths: tuple[str, ...] = ()
    # What the last successful update of this resource produced.
    previous: Outputs = field(default_factory=Outputs)

    @staticmethod
    def of(resource: Resource, update_id: int, reasons: tuple[Reason, ...], previous: Outputs) -> UpdateJob:
        paths = sorted({p for r in reasons if r.kind is ReasonKind.FILES for p in r.paths})
        return UpdateJob(resource, update_id, reasons, tuple(paths), previous)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    outputs: Outputs = field(default_factory=Outputs)
    # Carried out as a live update into the running container (recorded in the history).
    live_update: bool = False


class UpdateRunner(Protocol):
    async def run(self, job: UpdateJob, log: LogFn) -> Outcome: ...


class FunctionRunner:
    """Adapts a plain async function; the seam the engine tests use."""

    def __init__(self, fn: Callable[[UpdateJob, LogFn], Awaitable[Outcome]]) -> None:
        self._fn = fn

    async def run(self, job: UpdateJob, log: LogFn) -> Outcome:
        return await self._fn(job, log)


class Runners:
    """The registry: resource kind -> runner. A kind without one fails its update clearly."""

    def __init__(self, by_kind: Mapping[ResourceKind, UpdateRunner]) -> None:
        self._by_kind = dict(by_kind)

    def kinds(self) -> frozenset[ResourceKind]:
        return frozenset(self._by_kind)

    async def run(self, job: UpdateJob, log: LogFn) -> Outcome:
        runner = self._by_kind.get(job.resource.kind)
        if runner is None:
            return Outcome(False, f"{job.resource.kind.value} resources are not supported by this build yet")
        return await runner.run(job, log)


class LocalRunner:
    """Runs a local_resource's `cmd` as a real process (own process group)."""

    def __init__(self, processes: ProcessRunner, groups: ProcessGroups | None = None) -> None:
        self._processes = processes
        # Where the writer-evidence check finds each running update's process group.
        self._groups = groups

    async def _start(self, cmd: Cmd, cwd: str, env: tuple[tuple[str, str], ...], log: LogFn) -> ProcessHandle:
        """Start `cmd`, without the shell when the string has no shell syntax (model/shell.py)."""
        direct = cmd.direct_argv
        if direct is not None:
            try:
                return await self._processes.start(ProcessSpec(direct, cwd, env), log)
            except ProcessStartError:
                # A script without #!, a missing command, no permission: the shell decides
                # what those mean (it runs the script, or says "not found" and exits 127).
                pass
        return await self._processes.start(ProcessSpec(cmd.argv, cwd, env), log)

    async def run(self, job: UpdateJob, log: LogFn) -> Outcome:
        spec = job.resource.local
        if spec is None:
            return Outcome(False, f"`{job.resource.name}` has no local command")
        if spec.cmd.empty:
            return Outcome(True)
        log(f"Running cmd: {spec.cmd.display()}", Stream.STDOUT)
        cwd = spec.dir or os.getcwd()
        try:
            handle = await self._start(spec.cmd, cwd, spec.env, log)
        except ProcessStartError as exc:
            log(str(exc), Stream.STDERR)
            return Outcome(False, str(exc))
        if self._groups is not None:
            self._groups.started(job.update_id, handle.pid)
        try:
            code = await handle.wait()
        finally:
            if self._groups is not None:
                self._groups.finished(job.update_id)
            # Cancelled (shutdown, resource removed) or exited: either way, stop
            # the whole group, so that a background child it left holds nothing.
            await handle.stop()
        if code != 0:
            return Outcome(False, f"cmd exited with code {code}")
        return Outcome(True)
