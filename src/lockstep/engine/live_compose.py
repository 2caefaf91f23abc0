"""Live update of Compose services: into the service's running container, through `docker exec`.

`ImageRunner` asks `try_update` before building: it returns the live update's outcome, or
None when the update must be a full build (the reason is logged). After a full build and
`up`, `after_deploy` records the build's result and, with initial_sync(), copies every
sync source into the new container.
"""

from __future__ import annotations

from lockstep.adapters.docker import DockerError, LogFn, repo_of
from lockstep.adapters.docker_exec import DockerContainer
from lockstep.engine.compose_runtime import Compose
from lockstep.engine.live_update import LiveUpdater, live_image
from lockstep.engine.runners import Outcome, UpdateJob
from lockstep.model.liveupdate import Rebuild, initial_sync
from lockstep.model.resource import ImageTarget, Resource


def service_image(r: Resource) -> ImageTarget | None:
    """The image the service runs, if it has live-update steps (matched as `deploy` substitutes)."""
    if r.compose is None:
        return None
    repos = {repo_of(ref) for ref in r.compose.image_refs}
    return live_image(r, [img.ref for img in r.images if repo_of(img.ref) in repos])


class ComposeLive:
    def __init__(self, compose: Compose, updater: LiveUpdater | None = None) -> None:
        self.compose = compose
        self.updater = updater or LiveUpdater()

    async def _container(self, r: Resource) -> DockerContainer | None:
        assert r.compose is not None
        t = await self.compose.target(r.compose)
        cid = await self.compose.container(t)
        if not cid or (await self.compose.status(cid))[0] != "running":
            return None
        return DockerContainer(self.compose.cli, cid, t.service)

    async def try_update(self, job: UpdateJob, log: LogFn) -> Outcome | None:
        r = job.resource
        img = service_image(r)
        if img is None:
            return None
        decision = self.updater.decide(job, img)
        if isinstance(decision, Rebuild):
            if job.previous.images:
                log(f"Full rebuild of {r.name}: {decision.reason}", False)
            return None
        try:
            container = await self._container(r)
        except DockerError as exc:
            log(f"Full rebuild of {r.name}: {exc}", False)
            return None
        if container is None:
            log(f"Full rebuild of {r.name}: its container is not running", False)
            return None
        log(f"Live update of {r.name} (no image build)", False)
        done = await self.updater.apply(job, img, decision, [container], log)
        if not done.ok:
            log(done.error, True)
        return Outcome(done.ok, done.error, job.previous, live_update=True)

    async def after_deploy(self, job: UpdateJob, outcome: Outcome, log: LogFn) -> Outcome:
        r = job.resource
        self.updater.rebuilt(r.name, outcome.ok)
        img = service_image(r)
        if not outcome.ok or img is None or not initial_sync(img.live_update):
            return outcome
        initial = self.updater.initial(img)
        if initial is None:
            return outcome
        container = await self._container(r)
        if container is None:
            return Outcome(False, "initial_sync: the service's container is not running", outcome.outputs)
        log(f"Initial sync into {container.label}", False)
        done = await self.updater.apply_plan(img, initial, [container], log)
        if not done.ok:
            log(done.error, True)
            self.updater.rebuilt(r.name, False)  # the container's files are unknown: rebuild next time
            return Outcome(False, f"initial_sync: {done.error}", outcome.outputs)
        return outcome
