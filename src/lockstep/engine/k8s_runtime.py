"""The runtime of a Kubernetes resource: its pods, watched until lockstep stops.

After each successful apply the controller (one supervisor per update, from
`RuntimeController`) runs, for the resource:
- `kubectl get pods --watch -o json` per (namespace, selector) the runner recorded, and
  `kubectl get jobs --watch` for its Jobs: readiness (`k8s.status`) becomes RuntimeReady,
  and a failing pod's trouble (ImagePullBackOff, CrashLoopBackOff, OOMKilled...) goes to the
  resource's log as an error, in words, once per change;
- `kubectl logs --follow` per container of each running pod, lines prefixed [pod/container],
  started again when the container restarts or a new pod appears;
- `kubectl port-forward` per port forward, to the newest ready pod, moved when that pod
  changes and restarted (with backoff) when it drops.
A watch that ends (API server restart, network) is restarted with backoff, and one that kubectl
never answers fails the resource (engine/k8s_watch.py). `kubectl` was
chosen over an async client library: it is the tool users already have configured (auth
plugins, kubeconfig merging, contexts), and it needs nothing installed (docs/engine.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from lockstep.adapters.kubectl import Cli
from lockstep.adapters.process import ProcessHandle, Stream
from lockstep.engine.k8s_runner import Deployed, Deployments
from lockstep.engine.k8s_watch import watch_forever
from lockstep.engine.port import EnginePort
from lockstep.engine.runtime import RuntimeController
from lockstep.engine.serve import backoff_delay
from lockstep.k8s import commands
from lockstep.k8s.forwards import address, resolve, url
from lockstep.k8s.ordering import describe
from lockstep.k8s.status import Health, Verdict, event_words, job_verdict, pod_name, pods_verdict
from lockstep.logs.levels import level_of
from lockstep.logs.store import LogLevel, LogSource
from lockstep.model.resource import PodReadiness, PortForward, Resource, ResourceKind
from lockstep.store import actions as A
from lockstep.store.state import EngineState
from lockstep.tiltfile.k8s_assign import UNCATEGORIZED


@dataclass
class _Watch:
    """The resource's pods and jobs as last seen."""

    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _ready_pod(pods: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    from lockstep.k8s.status import pod_ready

    ready = [p for p in pods.values() if pod_ready(p) and not (p.get("metadata") or {}).get("deletionTimestamp")]
    ready.sort(key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp", "")))
    return ready[-1] if ready else None


class K8sRuntime(RuntimeController):
    live_in_place = True

    def __init__(self, engine: EnginePort, cli: Cli, deployments: Deployments, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.cli = cli
        self.deployments = deployments
        self._sleep = sleep
        self._supervisions: dict[str, _Supervision] = {}
        super().__init__(engine)

    def refresh(self, name: str) -> None:
        """A live update left the pods in place: judge them again, which reports readiness."""
        sup = self._supervisions.get(name)
        if sup is None:
            self.engine.dispatch(A.RuntimeReady(name, True, self.engine.now()))  # nothing with pods
            return
        sup.ready = None
        sup.changed.set()

    def handles(self, r: Resource) -> bool:
        return r.kind is ResourceKind.K8S and r.name != UNCATEGORIZED

    def reconcile(self, state: EngineState) -> None:
        super().reconcile(state)
        # As Tilt: a resource removed from the Tiltfile, or disabled, has its objects deleted.
        for name in withdrawn(self.deployments, state):
            deployed = self.deployments.pop(name)
            self.engine.spawn(self._delete(name, deployed), f"k8s-delete-{name}")

    async def _delete(self, name: str, deployed: Deployed) -> None:
        if deployed.delete_cmd:
            self.engine.log(name, f"Running delete_cmd: {' '.join(deployed.delete_cmd)}", source=LogSource.RUNTIME)
            done = await self.cli.run(list(deployed.delete_cmd), cwd=deployed.delete_dir, env=deployed.delete_env)
            if done.code != 0:
                self.engine.log(name, f"delete_cmd exited with code {done.code}: {done.stderr.strip()[-300:]}",
                                source=LogSource.RUNTIME, error=True)
            return
        docs = [d for d in deletion_docs(deployed) if d["kind"] != "Namespace"]
        if not docs:
            return
        self.engine.log(name, "Deleting " + ", ".join(describe(d) for d in docs), source=LogSource.RUNTIME)
        res = await self.cli.run_with_file(commands.delete(deployed.context), yaml.safe_dump_all(docs, sort_keys=False))
        if res.code != 0:
            self.engine.log(name, f"kubectl delete failed: {res.stderr.strip()[-300:]}", source=LogSource.RUNTIME,
                            error=True)

    async def keep_running(self, name: str, r: Resource) -> None:
        deployed = self.deployments.by_resource.get(name)
        self.engine.dispatch(A.RuntimeStarted(name, self.engine.now()))
        mode = r.k8s.pod_readiness if r.k8s else PodReadiness.AUTO
        if deployed is None or (not deployed.pod_selectors and not deployed.jobs):
            # Nothing with pods (a ConfigMap, CRDs): ready once applied, as Tilt.
            self.engine.dispatch(A.RuntimeReady(name, True, self.engine.now()))
            await asyncio.Event().wait()
            return
        sup = _Supervision(self, name, r, deployed, mode)
        self._supervisions[name] = sup
        try:
            await sup.run()
        finally:
            if self._supervisions.get(name) is sup:
                del self._supervisions[name]


def withdrawn(deployments: Deployments, state: EngineState) -> list[str]:
    """Deployed resources that are gone from the configuration or disabled."""
    if state.config is None:
        return []  # nothing loaded yet (or a failed first load): keep what is deployed
    out = []
    for name in deployments.by_resource:
        rs = state.statuses.get(name)
        if rs is None or not rs.enabled:
            out.append(name)
    return out


def deletion_docs(deployed: Deployed) -> list[dict[str, Any]]:
    return [{"apiVersion": a, "kind": k, "metadata": {"name": n, **({"namespace": ns} if ns else {})}}
            for a, k, ns, n in reversed(deployed.idents)]


class _Supervision:
    def __init__(self, ctl: K8sRuntime, name: str, r: Resource, deployed: Deployed, mode: PodReadiness) -> None:
        self.ctl = ctl
        self.name = name
        self.r = r
        self.d = deployed
        self.mode = mode
        self.seen = _Watch()
        self.changed = asyncio.Event()
        self.ready: bool | None = None
        self.problem = ""
        self.log_streams: dict[tuple[str, str, int], asyncio.Task[None]] = {}
        # Port forwards waiting for the next change of the pods.
        self.listeners: list[asyncio.Event] = []
        self.warned: set[str] = set()

    def log(self, text: str, *, error: bool = False) -> None:
        self.ctl.engine.log(self.name, text, source=LogSource.RUNTIME, error=error)

    async def run(self) -> None:
        tasks: list[asyncio.Task[None]] = []
        try:
            for ns, selector in self.d.pod_selectors:
                tasks.append(asyncio.ensure_future(self._watch(
                    commands.watch_pods(self.d.context, ns, selector), self.seen.pods)))
            for ns in dict.fromkeys(ns for ns, _ in self.d.jobs):
                names = [n for jns, n in self.d.jobs if jns == ns]
                tasks.append(asyncio.ensure_future(self._watch(
                    commands.watch_jobs(self.d.context, ns, f"{commands.RESOURCE_LABEL}="
                                        f"{commands.label_value(self.name)}"), self.seen.jobs, only=names)))
            for ns in dict.fromkeys(ns for ns, _ in self.d.pod_selectors):
                # Warning events are rare: a silent watch of them is the normal case, never a fault.
                tasks.append(asyncio.ensure_future(self._watch(
                    commands.watch_events(self.d.context, ns), {}, on_doc=self._warning, bounded=False)))
            forwards = self.r.k8s.port_forwards if self.r.k8s else ()
            for pf in forwards:
                tasks.append(asyncio.ensure_future(self._forward(pf)))
            while True:
                await self.changed.wait()
                self.changed.clear()
                self._judge()
                self._follow_logs()
        finally:
            for t in tasks + list(self.log_streams.values()):
                t.cancel()
            for t in tasks + list(self.log_streams.values()):
                with contextlib.suppress(BaseException):
                    await t

    def _warning(self, doc: Any) -> None:
        """A Warning event about one of the resource's pods (FailedMount, FailedScheduling,
        BackOff...), in words, once per distinct event."""
        event = doc.get("object") if isinstance(doc, dict) and isinstance(doc.get("object"), dict) else doc
        if not isinstance(event, dict):
            return
        obj = event.get("involvedObject")
        if not isinstance(obj, dict) or obj.get("kind") != "Pod" or str(obj.get("name")) not in self.seen.pods:
            return
        words = event_words(event)
        key = f"{obj.get('name')}|{event.get('reason')}|{event.get('message')}"
        if words and key not in self.warned:
            self.warned.add(key)
            self.log(words, error=True)

    async def _watch(self, argv: list[str], into: dict[str, dict[str, Any]], only: list[str] | None = None,
                     on_doc: Callable[[Any], None] | None = None, bounded: bool = True) -> None:
        def doc(d: Any) -> None:
            if on_doc is not None:
                on_doc(d)
            else:
                self._event(d, into, only)

        await watch_forever(self.ctl.cli, argv, on_doc=doc, on_reset=into.clear,
                            log=lambda text: self.log(text, error=True), sleep=self.ctl._sleep,
                            bound=self._bound if bounded else None, on_silent=self._silent)

    def _bound(self) -> float:
        return float(self.ctl.engine.snapshot.state.settings.k8s_upsert_timeout_secs)

    def _silent(self, why: str) -> None:
        """The cluster does not answer the watch: failed, not "pending", so `ci` stops here with
        the reason instead of waiting out its timeout; the next answer makes it ready again."""
        self.log(why, error=True)
        self.ready = None
        self.ctl.engine.dispatch(A.RuntimeExited(self.name, 1, self.ctl.engine.now()))

    def _event(self, doc: Any, into: dict[str, dict[str, Any]], only: list[str] | None) -> None:
        if not isinstance(doc, dict):
            return
        kind, obj = doc.get("type"), doc.get("object")
        if not isinstance(obj, dict):  # a watch without --output-watch-events: the object itself
            kind, obj = "MODIFIED", doc
        name = pod_name(obj)
        if only is not None and name not in only:
            return
        if commands.outdated(obj, self.d.template_hashes):
            kind = "DELETED"  # a pod of an older template: not this deploy's
        if kind == "DELETED":
            into.pop(name, None)
        else:
            into[name] = obj
        self.changed.set()
        for ev in self.listeners:
            ev.set()

    def _judge(self) -> None:
        verdicts: list[Verdict] = []
        if self.d.pod_selectors:
            verdicts.append(pods_verdict(self.seen.pods.values(), self.mode))
        for _, job in self.d.jobs:
            got = self.seen.jobs.get(job)
            verdicts.append(job_verdict(got) if got else Verdict(Health.PENDING, f"waiting for job {job}"))
        ready = all(v.health in (Health.READY, Health.DONE) for v in verdicts)
        problem = "; ".join(v.reason for v in verdicts if v.health in (Health.FAILING, Health.FAILED))
        if problem and problem != self.problem:
            # The resource shows as failed (not merely "not ready") with the reason in its log,
            # until its pods recover.
            self.log(problem, error=True)
            self.ctl.engine.dispatch(A.RuntimeExited(self.name, 1, self.ctl.engine.now()))
            self.ready = None
        self.problem = problem
        if ready != self.ready and not (problem and not ready):
            self.ready = ready
            self.ctl.engine.dispatch(A.RuntimeReady(self.name, ready, self.ctl.engine.now()))

    def _follow_logs(self) -> None:
        for pod in self.seen.pods.values():
            status = pod.get("status") or {}
            ns = str((pod.get("metadata") or {}).get("namespace", "") or "default")
            for c in status.get("containerStatuses") or []:
                # A container that already finished (a Job's) still has logs to show.
                state = c.get("state") if isinstance(c, dict) else None
                if not isinstance(state, dict) or not ("running" in state or "terminated" in state):
                    continue
                key = (pod_name(pod), str(c.get("name")), int(c.get("restartCount", 0) or 0))
                if key not in self.log_streams:
                    self.log_streams[key] = asyncio.ensure_future(self._stream_logs(ns, *key))

    async def _stream_logs(self, ns: str, pod: str, container: str, _restart: int) -> None:
        prefix = f"[{pod}/{container}] "

        def on_line(text: str, s: Stream) -> None:
            # The API server hands a container's stdout and stderr over as one stream, so
            # everything kubectl prints on stdout is the pod's output: its level comes from
            # the text, as for every process line. kubectl's stderr is kubectl's own word
            # about the stream (a container not started yet), said as such.
            if s is Stream.STDERR:
                level = level_of(text)
                self.ctl.engine.log_output(self.name, f"{prefix}kubectl logs: {text}", LogSource.RUNTIME,
                                           True, level=level if level is LogLevel.ERROR else LogLevel.WARN)
            else:
                self.ctl.engine.log_output(self.name, prefix + text, LogSource.RUNTIME, False,
                                           level=level_of(text))

        handle = await self.ctl.cli.start(commands.logs(self.d.context, ns, pod, container), on_line)
        try:
            await handle.wait()
        finally:
            await asyncio.shield(handle.stop(1.0))

    async def _forward(self, pf: Any) -> None:
        restarts = 0
        while True:
            pod = _ready_pod(self.seen.pods)
            if pod is None:
                await self.changed_or_sleep()
                continue
            fwd = resolve(pf, pod)
            ns = str((pod.get("metadata") or {}).get("namespace", "") or "default")
            name = pod_name(pod)
            handle = await self._start_forward(fwd, ns, name)
            moved = await self._until_pod_changes_or_exit(handle, name)
            await asyncio.shield(handle.stop(1.0))
            if not moved:
                restarts += 1
                delay = backoff_delay(restarts)
                self.log(f"port-forward {fwd.local_port} -> {name}:{fwd.container_port} dropped; "
                         f"reconnecting in {delay:.0f}s", error=True)
                await self.ctl._sleep(delay)
            else:
                restarts = 0

    async def _start_forward(self, fwd: PortForward, ns: str, pod: str) -> ProcessHandle:
        self.log(f"Forwarding {url(fwd)} -> pod {pod} port {fwd.container_port}")

        def on_line(text: str, s: Stream) -> None:
            if s is Stream.STDERR:
                self.log(f"port-forward: {text}", error=True)

        return await self.ctl.cli.start(
            commands.port_forward(self.d.context, ns, pod, fwd.local_port, fwd.container_port, address(fwd)),
            on_line)

    async def changed_or_sleep(self) -> None:
        await self._next_change()

    async def _next_change(self) -> None:
        ev = asyncio.Event()
        self.listeners.append(ev)
        try:
            await ev.wait()
        finally:
            self.listeners.remove(ev)

    async def _until_pod_changes_or_exit(self, handle: ProcessHandle, pod: str) -> bool:
        """True when the ready pod changed (the forward must move), False when it exited."""
        exited = asyncio.ensure_future(handle.wait())
        try:
            while not exited.done():
                changed = asyncio.ensure_future(self._next_change())
                await asyncio.wait({exited, changed}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                current = _ready_pod(self.seen.pods)
                if current is not None and pod_name(current) != pod:
                    return True
            return False
        finally:
            exited.cancel()
