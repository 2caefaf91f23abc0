"""Docker Compose services: the deploy step of an update, and the runtime around it.

The update (after the images are built) runs `up -d --no-deps --no-build SERVICE` with the
built image substituted. The controller then follows the service's container like
`ServeController` follows a process: it streams the container's output (`docker logs
--follow`: unbuffered, stdout and stderr apart, and it can resume where the previous stream
of the same container stopped, which a live update needs), reports ready once the
container runs (and is healthy, when it has a healthcheck), reports a crash when it stops,
and on stop (disable, shutdown) removes the service's container; the last service of a
project to stop takes the project down (its network too).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from lockstep.adapters import compose as C
from lockstep.adapters.docker import DockerCli, DockerError, LogFn
from lockstep.adapters.docker_cleanup import Owner
from lockstep.adapters.process import ProcessSpec, ProcessStartError, Stream
from lockstep.engine.image_match import find_built, is_exact
from lockstep.engine.port import EnginePort
from lockstep.engine.runners import Outcome
from lockstep.engine.runtime import RuntimeController
from lockstep.logs.store import LogSource
from lockstep.model.resource import ComposeSpec, Resource
from lockstep.model.update import Outputs
from lockstep.store import actions as A

POLL_SECS = 0.5
# A stop (`rm -s -f`, `down`) bounded below `lockstep down`'s own 30 s wait: an engine that
# stopped answering must not hold lockstep's shutdown; the user is told what is left.
REMOVE_TIMEOUT = 25.0


@dataclass(frozen=True)
class Target:
    flavor: C.ComposeFlavor
    project: str
    files: tuple[str, ...]
    service: str
    env_file: str = ""


class Compose:
    """Finds the compose CLI once and addresses one service of one project."""

    def __init__(self, cli: DockerCli, owner: Owner | None = None) -> None:
        self.cli = cli
        # Labels every container started here, so that `down` and the next `up` find them
        # even when this process was killed (adapters/docker_cleanup.py).
        self.owner = owner
        self._flavor: C.ComposeFlavor | None = None
        # project -> the resources whose runtime is supervised (the controller keeps it).
        self.members: dict[str, set[str]] = {}
        self._dir = os.path.join(tempfile.gettempdir(), f"lockstep-compose-{os.getuid()}")

    async def target(self, spec: ComposeSpec) -> Target:
        if not spec.project_files:
            raise DockerError("compose YAML given inline is not supported by this build yet: pass a file path")
        if self._flavor is None:
            self._flavor = await C.detect(self.cli)
        return Target(self._flavor, C.project_name(spec.project_files, spec.project), spec.project_files,
                      spec.service, spec.env_file)

    async def deploy(self, resource: Resource, built: Mapping[str, str], log: LogFn,
                     outputs: Outputs) -> Outcome:
        assert resource.compose is not None
        try:
            t = await self.target(resource.compose)
            await self.cli.ping()
        except DockerError as exc:
            return Outcome(False, str(exc), outputs)
        files = t.files
        exact = {img.ref: is_exact(img) for img in resource.images}
        image = next((out for r in resource.compose.image_refs if (out := find_built(r, built, exact))), "")
        labels = self.owner.labels if self.owner is not None else None
        if image or labels:
            os.makedirs(self._dir, mode=0o700, exist_ok=True)
            override = os.path.join(self._dir, f"{t.project}-{t.service}.json")
            with open(override, "w", encoding="utf-8") as f:
                f.write(C.override_yaml(t.service, image, files[0], labels))
            files = (*files, override)
        if self.owner is not None:
            self.owner.note_started()
        argv = C.up_argv(t.flavor, t.project, files, t.service, t.env_file)
        log(f"Running: {' '.join(argv)}", False)
        try:
            code, _ = await self.cli.run(argv, log, cwd=os.path.dirname(t.files[0]))
        except asyncio.CancelledError:
            # Stopped mid-start (Ctrl-C, SIGTERM, a newer update): compose may have created and
            # started the container already, and no supervisor will ever own it.
            await asyncio.shield(self._clean_failed(resource.name, t, log))
            raise
        if code != 0:
            try:
                await self.cli.ping()
            except DockerError as gone:  # the daemon died or hung during the start
                return Outcome(False, f"{t.flavor.value} up {t.service} exited with code {code}: {gone}", outputs)
            await self._clean_failed(resource.name, t, log)
            return Outcome(False, f"{t.flavor.value} up {t.service} exited with code {code}", outputs)
        return Outcome(True, "", outputs)

    async def _clean_failed(self, name: str, t: Target, log: LogFn) -> None:
        """A failed or interrupted `up` (a port already in use, an image that cannot be pulled,
        a stop signal) can leave the service's container and the project's network. No
        supervisor will own them, so they go now; a service that still has a supervisor (an
        earlier update's container) is left to it."""
        members = self.members.get(t.project, set())
        if name in members:
            return
        argv = C.rm_argv(t.flavor, t.project, t.files, t.service, t.env_file) if members else \
            C.down_argv(t.flavor, t.project, t.files, t.env_file)
        log(f"Cleaning up after the failed start: {' '.join(argv)}", False)
        try:
            await self.cli.run(argv, log, timeout=REMOVE_TIMEOUT)
        except DockerError as exc:
            log(str(exc), True)

    async def container(self, t: Target) -> str:
        code, lines = await self.cli.run(C.ps_argv(t.flavor, t.project, t.files, t.service, t.env_file), None)
        ids = [ln.strip() for ln in lines if ln.strip()]
        return ids[0] if code == 0 and ids else ""

    async def status(self, container: str) -> tuple[str, str]:
        """(state, health) of a container: ("running", "healthy"), ("exited", ""), ..."""
        code, lines = await self.cli.run(["docker", "inspect", "--format",
                                          "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
                                          container], None)
        if code != 0 or not lines:
            return "missing", ""
        parts = lines[0].split()
        return (parts[0] if parts else "missing"), (parts[1] if len(parts) > 1 else "")


def ready(state: str, health: str) -> bool:
    return state == "running" and health in ("", "healthy")


class ComposeController(RuntimeController):
    """The runtime of a Compose service (the supervision bookkeeping is `RuntimeController`'s)."""

    live_in_place = True

    def __init__(self, engine: EnginePort, compose: Compose, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.compose = compose
        self._sleep = sleep
        # name -> (container, when its log stream stopped): a live update keeps the container,
        # and the next supervisor streams from there on, not the container's whole log again.
        self._streamed: dict[str, tuple[str, float]] = {}
        # Services live-updated since their supervisor last reported readiness.
        self._recheck: set[str] = set()
        super().__init__(engine)

    def refresh(self, name: str) -> None:
        self._recheck.add(name)

    def handles(self, r: Resource) -> bool:
        return r.compose is not None

    async def keep_running(self, name: str, r: Resource) -> None:
        assert r.compose is not None
        me = asyncio.current_task()
        t = await self.compose.target(r.compose)
        self.compose.members.setdefault(t.project, set()).add(name)
        logs: asyncio.Task[None] | None = None
        try:
            container = await self.compose.container(t)
            if container:
                prev = self._streamed.get(name)
                logs = asyncio.ensure_future(
                    self._follow_logs(name, t, container, prev[1] if prev and prev[0] == container else None))
            self.engine.dispatch(A.RuntimeStarted(name, self.engine.now()))
            was_ready: bool | None = None
            while True:
                s = self.engine.snapshot.state.statuses.get(name)
                if s is not None and s.running is not None:
                    # An update is under way; its `up` may replace the container. The old one
                    # is still ours (the update may fail), but its replacement is no crash.
                    await self._sleep(POLL_SECS)
                    continue
                state, health = await self.compose.status(container) if container else ("missing", "")
                if state in ("exited", "dead", "missing"):
                    self.engine.log(name, f"container of service {t.service} is {state}", source=LogSource.RUNTIME,
                                    error=True)
                    self.engine.dispatch(A.RuntimeExited(name, 1, self.engine.now()))
                    return
                now_ready = ready(state, health)
                if name in self._recheck:
                    self._recheck.discard(name)
                    was_ready = None  # a live update made it STARTING: say again whether it is ready
                if now_ready != was_ready:
                    was_ready = now_ready
                    self.engine.dispatch(A.RuntimeReady(name, now_ready, self.engine.now()))
                await self._sleep(POLL_SECS)
        finally:
            if logs is not None:
                logs.cancel()
                await asyncio.shield(asyncio.wait([logs]))
            await asyncio.shield(self._remove(name, t, me))

    async def _follow_logs(self, name: str, t: Target, container: str, since: float | None) -> None:
        """The container's output (`docker logs --follow`), until cancelled. A stream ends when
        the container stops (a restart); it is followed again from the moment it ended, and
        the next supervisor of the same container (after a live update) carries on from where
        this one stopped, so no line is shown twice or lost."""

        def on_line(text: str, stream: Stream) -> None:
            self.engine.log_output(name, text, LogSource.RUNTIME, stream is Stream.STDERR)

        while True:
            argv = ("docker", "logs", "--follow", *(("--since", f"{since:.3f}") if since is not None else ()),
                    container)
            try:
                handle = await self.compose.cli.processes.start(
                    ProcessSpec(argv, os.path.dirname(t.files[0]), self.compose.cli.env), on_line)
            except ProcessStartError as exc:
                self.engine.log(name, f"cannot stream logs: {exc}", source=LogSource.RUNTIME, error=True)
                return
            try:
                await handle.wait()
            finally:
                await asyncio.shield(handle.stop(1.0))
                since = time.time()
                self._streamed[name] = (container, since)
            await self._sleep(POLL_SECS)

    async def _remove(self, name: str, t: Target, me: asyncio.Task[object] | None) -> None:
        """Stopped for good (not replaced by a newer update's supervisor): remove the container;
        the last service of the project takes the project (and its network) down."""
        current = self._sup.get(name)
        if current is not None and current.task is not me:
            return  # a newer update's supervisor took over the same container
        members = self.compose.members.get(t.project, set())
        members.discard(name)
        if members:
            argv = C.rm_argv(t.flavor, t.project, t.files, t.service, t.env_file)
        else:
            self.compose.members.pop(t.project, None)
            argv = C.down_argv(t.flavor, t.project, t.files, t.env_file)

        def log(text: str, is_error: bool) -> None:
            self.engine.log(name, text, source=LogSource.RUNTIME, error=is_error)
        log(f"Stopping: {' '.join(argv)}", False)
        try:
            await self.compose.cli.run(argv, log, timeout=REMOVE_TIMEOUT)
        except DockerError as exc:
            log(f"{exc}; what it started may still run: `{' '.join(argv)}` removes it", True)
