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
import contextlib
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

    def __init__(self, cli: DockerCli, owner: Owner | None = None, override_dir: str = "") -> None:
        self.cli = cli
        # Labels every container started here, so that `down` and the next `up` find them
        # even when this process was killed (adapters/docker_cleanup.py).
        self.owner = owner
        self._flavor: C.ComposeFlavor | None = None
        # The override files name the image a service runs: they live in the private state dir
        # (`up` passes it). Never a fixed name under /tmp, where another user could plant the
        # directory or a symlink and so pick the image, or have an override overwrite a file.
        self._dir = override_dir
        # Per project: stopped runtimes still removing their containers (`rm -s -f` or `down`).
        self._removing: dict[str, set[asyncio.Task[None]]] = {}
        # project -> the resources whose runtime is supervised (their supervisor removes the
        # container when it stops; a failed or interrupted start of any other is cleaned up here).
        self.members: dict[str, set[str]] = {}
        # Per project: held while one of its services runs `up` (and cleans up after a failed one).
        self._starting: dict[str, asyncio.Lock] = {}

    def removing(self, project: str, task: asyncio.Task[None]) -> None:
        """`task` (a stopped service's runtime) is about to remove containers of `project`."""
        tasks = self._removing.setdefault(project, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def removals_done(self, project: str, log: LogFn) -> None:
        """Wait until no stopped service of `project` is still removing its container. Without
        this, a service enabled again right after it was disabled finds its old container (`up`
        says it is up to date) and the pending removal then takes it away."""
        tasks = list(self._removing.get(project, ()))
        if tasks:
            log("Waiting for the previous container to be removed", False)
            await asyncio.wait(tasks)

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
        lock = self._starting.setdefault(t.project, asyncio.Lock())
        if lock.locked():
            log(f"Waiting for another service of project {t.project} to finish its `up`", False)
        # One `up` of a project at a time: each creates the project's missing networks, and two
        # at once race (compose v1 fails the loser with "network ... already exists", v2 can
        # create two networks of one name and split the services between them).
        async with lock:
            return await self._up(resource, t, built, log, outputs)

    async def _up(self, resource: Resource, t: Target, built: Mapping[str, str], log: LogFn,
                  outputs: Outputs) -> Outcome:
        assert resource.compose is not None
        await self.removals_done(t.project, log)
        files = t.files
        exact = {img.ref: is_exact(img) for img in resource.images}
        image = next((out for r in resource.compose.image_refs if (out := find_built(r, built, exact))), "")
        labels = self.owner.labels if self.owner is not None else None
        if image or labels:
            if not self._dir:
                self._dir = tempfile.mkdtemp(prefix="lockstep-compose-")  # private (0700), unique
            os.makedirs(self._dir, mode=0o700, exist_ok=True)
            override = os.path.join(self._dir, f"{t.project}-{t.service}.json")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(override)  # write a new file, never through whatever is there
            fd = os.open(override, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "w", encoding="utf-8") as f:
                f.write(C.override_yaml(t.service, image, files[0], labels))
            files = (*files, override)
        if self.owner is not None:
            self.owner.note_started()
        argv = C.up_argv(t.flavor, t.project, files, t.service, t.env_file,
                         build=resource.compose.compose_builds and not image)
        log(f"Running: {' '.join(argv)}", False)
        # Whether a runtime follows the service already (a redeploy): its stop removes the
        # container. Asked now: by the time a stop cancels this `up`, that runtime may have
        # stopped and left the project already.
        followed = resource.name in self.members.get(t.project, set())
        try:
            code, _ = await self.cli.run(argv, log, cwd=os.path.dirname(t.files[0]))
        except asyncio.CancelledError:
            if not followed:
                # Stopped mid-start (Ctrl-C, SIGTERM, a disable) before any runtime took the service
                # on: compose may have created and started the container, and nobody else owns it.
                await to_the_end(self._clean_failed(resource.name, t, log))
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
        supervisor will own them, so they go now: the container, then the project (its network)
        once it holds no container. A service that still has a supervisor (an earlier update's
        container) is left to it."""
        if name in self.members.get(t.project, set()):
            return
        rm = C.rm_argv(t.flavor, t.project, t.files, t.service, t.env_file)
        log(f"Cleaning up after the failed start: {' '.join(rm)}", False)
        try:
            await self.cli.run(rm, log, timeout=REMOVE_TIMEOUT)
            if self.members.get(t.project):
                return  # other services of the project run: their network stays
            code, lines = await self.cli.run([*C.base_argv(t.flavor, t.project, t.files, t.env_file), "ps", "-q"],
                                             None, timeout=REMOVE_TIMEOUT)
            if code == 0 and not any(ln.strip() for ln in lines):
                await self.cli.run(C.down_argv(t.flavor, t.project, t.files, t.env_file), log,
                                   timeout=REMOVE_TIMEOUT)
        except DockerError as exc:
            log(str(exc), True)

    async def container(self, t: Target) -> str:
        code, lines = await self.cli.run(C.ps_argv(t.flavor, t.project, t.files, t.service, t.env_file), None)
        ids = [ln.strip() for ln in lines if ln.strip()]
        return ids[0] if code == 0 and ids else ""

    async def status(self, container: str) -> ContainerState:
        code, lines = await self.cli.run(["docker", "inspect", "--format",
                                          "{{.State.Status}} {{.State.ExitCode}} "
                                          "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
                                          container], None)
        parts = lines[0].split() if code == 0 and lines else []
        if not parts:
            return ContainerState("missing")
        exit_code = int(parts[1]) if len(parts) > 1 and parts[1].lstrip("-").isdigit() else 0
        return ContainerState(parts[0], parts[2] if len(parts) > 2 else "", exit_code)


@dataclass(frozen=True)
class ContainerState:
    """What `docker inspect` says of a service's container: ("running", "healthy"), ("exited", 0)…"""

    state: str
    health: str = ""
    exit_code: int = 0

    @property
    def ready(self) -> bool:
        return (self.state == "running" and self.health in ("", "healthy")) or self.completed

    def ready_for(self, spec: ComposeSpec) -> bool:
        """A service a dependent waits on with `condition: service_completed_successfully` is
        ready only once it has completed, not while it runs."""
        return self.completed if spec.ready_when_completed else self.ready

    @property
    def completed(self) -> bool:
        """A one-shot service (a migration, a seed job) that ran and exited 0 has done its job:
        it counts as ready, as Tilt shows it and as Compose's `service_completed_successfully`."""
        return self.state == "exited" and self.exit_code == 0

    @property
    def gone(self) -> bool:
        return self.state in ("exited", "dead", "missing") and not self.completed


async def to_the_end(cleanup: Awaitable[object]) -> None:
    """Run a clean-up to completion inside the calling task even if that task is cancelled
    again meanwhile (a shutdown arriving while a crashed service's container is being removed),
    then take the cancellation. A bare shield would let the task end and leave the clean-up
    running after the engine and its child watcher are gone, waiting forever on its process."""
    task = asyncio.ensure_future(cleanup)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


class ComposeController(RuntimeController):
    """The runtime of a Compose service (the supervision bookkeeping is `RuntimeController`'s)."""

    live_in_place = True

    def __init__(self, engine: EnginePort, compose: Compose, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.compose = compose
        self._sleep = sleep
        self._project_of: dict[str, str] = {}
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

    def _stop(self, name: str) -> None:
        sup = self._sup.get(name)
        if sup is not None and name in self._project_of:
            # Cancelling it removes its container (keep_running's finally): a deploy in the same
            # project waits for that first.
            self.compose.removing(self._project_of[name], sup.task)
        super()._stop(name)

    async def keep_running(self, name: str, r: Resource) -> None:
        assert r.compose is not None
        # Before any await, so that a stop arriving from now on knows the project.
        self._project_of[name] = C.project_name(r.compose.project_files, r.compose.project)
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
            was_completed = False
            while True:
                s = self.engine.snapshot.state.statuses.get(name)
                if s is not None and s.running is not None:
                    # An update is under way; its `up` may replace the container. The old one
                    # is still ours (the update may fail), but its replacement is no crash.
                    await self._sleep(POLL_SECS)
                    continue
                cs = await self.compose.status(container) if container else ContainerState("missing")
                if cs.gone:
                    code = f" (exit code {cs.exit_code})" if cs.state == "exited" else ""
                    self.engine.log(name, f"container of service {t.service} is {cs.state}{code}",
                                    source=LogSource.RUNTIME, error=True)
                    self.engine.dispatch(A.RuntimeExited(name, cs.exit_code or 1, self.engine.now()))
                    # Stay until stopped or replaced: returning would report the runtime stopped,
                    # which resets the crash to "pending" and `ci` would wait for it forever.
                    await asyncio.Event().wait()
                if cs.completed and not was_completed:
                    was_completed = True
                    self.engine.log(name, f"container of service {t.service} completed (exit code 0)",
                                    source=LogSource.RUNTIME)
                now_ready = cs.ready_for(r.compose)
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
                await to_the_end(asyncio.wait([logs]))
            await to_the_end(self._remove(name, t, me))

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

    def _running(self, name: str) -> bool:
        """Whether `name`'s runtime goes on: supervised and not being stopped (a disable pops it
        from the supervisors, a shutdown cancels every supervisor at once)."""
        sup = self._sup.get(name)
        return sup is not None and not sup.task.done() and not sup.task.cancelling()

    async def _remove(self, name: str, t: Target, me: asyncio.Task[object] | None) -> None:
        """Stopped for good (not replaced by a newer update's supervisor): remove the container;
        once no service of the project runs any more, one `down` takes the project (its other
        stopping containers and its network) down. Services stopping together (Ctrl-C, `down`,
        `disable --all`) so share one `down` rather than racing it with their own `rm`s."""
        current = self._sup.get(name)
        if current is not None and current.task is not me:
            return  # a newer update's supervisor took over the same container
        members = self.compose.members.get(t.project)
        if members is None or name not in members:
            return  # the project's `down` has already taken this container
        members.discard(name)
        if any(self._running(m) for m in members):
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
