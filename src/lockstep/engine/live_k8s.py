"""Live update of Kubernetes resources: into every ready pod's container that runs the image.

`K8sRunner` asks `try_update` before building: it returns the live update's outcome, or None
when the update must be a full build and apply (the reason is logged). The pods are listed
at that moment (`kubectl get pods -o json` per selector the last apply recorded); a pod is
updated when it is ready, not being deleted and of the current pod template, in each of its
containers whose image is the one this lockstep delivered. The plan goes in through
`kubectl exec` (`tar -x -C /`, `rm -rf`, the run commands); restart_container() is refused
for Kubernetes by the loader, as Tilt does.

One image per resource is live-updated: the first with live-update steps (a change under
another image's context is under none of its syncs, so it rebuilds).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lockstep.adapters.docker_exec import PodContainer
from lockstep.adapters.kubectl import Cli, LogFn
from lockstep.adapters.process import Stream
from lockstep.engine.k8s_runner import Deployments
from lockstep.engine.live_update import LiveUpdater
from lockstep.engine.runners import Outcome, UpdateJob
from lockstep.k8s import commands
from lockstep.k8s.status import pod_name, pod_ready
from lockstep.model.liveupdate import Rebuild, has_live_update
from lockstep.model.resource import ImageTarget, Resource


def k8s_live_image(r: Resource) -> ImageTarget | None:
    return next((img for img in r.images if has_live_update(img.live_update)), None)


def get_pods(context: str, namespace: str, selector: str) -> list[str]:
    return commands.kubectl(context, "get", "pods", "--namespace", namespace or "default", "--selector", selector,
                            "-o", "json")


def targets(pods: Sequence[Mapping[str, Any]], image: str, hashes: frozenset[str]) -> list[tuple[str, str, str]]:
    """(namespace, pod, container) of every ready, current pod's container running `image`."""
    out: list[tuple[str, str, str]] = []
    for p in pods:
        meta = p.get("metadata") if isinstance(p.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        if meta.get("deletionTimestamp") or not pod_ready(p) or commands.outdated(p, hashes):
            continue
        spec = p.get("spec") if isinstance(p.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        for c in spec.get("containers") or []:
            if isinstance(c, dict) and c.get("image") == image:
                out.append((str(meta.get("namespace") or "default"), pod_name(p), str(c.get("name", ""))))
    return out


class K8sLive:
    def __init__(self, cli: Cli, deployments: Deployments, updater: LiveUpdater | None = None) -> None:
        self.cli = cli
        self.deployments = deployments
        self.updater = updater or LiveUpdater()
        # resource -> {image ref as written: ref delivered to the cluster}, from its last apply.
        self._delivered: dict[str, dict[str, str]] = {}

    def deployed(self, name: str, delivered: Mapping[str, str] | None) -> None:
        """A full update of `name` finished: what it delivered, or None when it failed."""
        self.updater.rebuilt(name, delivered is not None)
        if delivered is not None:
            self._delivered[name] = dict(delivered)

    async def _pods(self, name: str) -> tuple[str, list[dict[str, Any]]] | None:
        d = self.deployments.by_resource.get(name)
        if d is None:
            return None
        pods: list[dict[str, Any]] = []
        for ns, selector in d.pod_selectors:
            res = await self.cli.run(get_pods(d.context, ns, selector))
            try:
                doc = json.loads(res.stdout) if res.code == 0 and res.stdout.strip() else {}
            except ValueError:
                doc = {}
            pods += [p for p in doc.get("items") or [] if isinstance(p, dict)]
        return d.context, pods

    async def try_update(self, job: UpdateJob, log: LogFn) -> Outcome | None:
        r = job.resource
        img = k8s_live_image(r)
        if img is None:
            return None
        decision = self.updater.decide(job, img)
        delivered = self._delivered.get(r.name, {}).get(img.ref)
        if not isinstance(decision, Rebuild) and delivered is None:
            decision = Rebuild(f"image {img.ref} was not deployed by this run")
        if isinstance(decision, Rebuild):
            if job.previous.images:
                log(f"Full rebuild of {r.name}: {decision.reason}", Stream.STDOUT)
            return None
        assert delivered is not None
        found = await self._pods(r.name)
        d = self.deployments.by_resource.get(r.name)
        hashes = d.template_hashes if d is not None else frozenset()
        where = targets(found[1], delivered, hashes) if found is not None else []
        if found is None or not where:
            log(f"Full rebuild of {r.name}: no ready pod runs {delivered}", Stream.STDOUT)
            return None
        containers = [PodContainer(self.cli, found[0], ns, pod, c) for ns, pod, c in where]
        log(f"Live update of {r.name} (no image build) into {len(containers)} container"
            f"{'' if len(containers) == 1 else 's'}", Stream.STDOUT)

        def by_level(text: str, is_error: bool) -> None:
            log(text, Stream.STDERR if is_error else Stream.STDOUT)

        done = await self.updater.apply(job, img, decision, containers, by_level)
        if not done.ok:
            log(done.error, Stream.STDERR)
        return Outcome(done.ok, done.error, job.previous, live_update=True)
