"""The Kubernetes flow on a real engine, real processes and a scripted `kubectl` stand-in:
apply -> watch -> ready -> port-forward -> re-apply on a new image -> delete on down.

No cluster runs here: the stand-in records every command line lockstep issues and plays back
pod status JSON that the test appends. The assertions are on the exact commands.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml
from kubectl_standin import calls, install
from podjson import container_status, event, pod

from lockstep.adapters.kubectl import Cli, LogFn
from lockstep.adapters.process import SubprocessRunner
from lockstep.cli.k8s_down import delete_k8s
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.k8s_runner import Deployments, K8sRunner
from lockstep.engine.k8s_runtime import K8sRuntime
from lockstep.engine.runners import Runners
from lockstep.logs.store import LogLevel, LogStore
from lockstep.model.resource import LoadResult, Resource, ResourceKind
from lockstep.store import actions as A
from lockstep.store.state import RuntimeStatus
from lockstep.tiltfile import load

pytestmark = pytest.mark.e2e

TILTFILE = """
docker_build('web', '.')
k8s_yaml('app.yaml')
k8s_resource('web', port_forwards=8080)
"""
APP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: web-settings}
data: {mode: dev}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: web
          ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


class Images:
    """The image step: each update of `web` yields the next content tag, as a real build would."""

    def __init__(self) -> None:
        self.builds = 0

    async def build(self, resource: Resource, log: LogFn) -> dict[str, str]:
        if not resource.images:
            return {}
        self.builds += 1
        return {"web": f"web:tilt-{self.builds}"}


async def until(pred: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; kubectl calls: {LAST_CALLS[0]}")
        await asyncio.sleep(0.02)


LAST_CALLS: list[object] = [None]


def argvs(sdir: Path) -> list[list[str]]:
    LAST_CALLS[0] = [c["argv"] for c in calls(sdir)]
    return [list(c["argv"]) for c in calls(sdir)]  # type: ignore[call-overload]


def applied_docs(sdir: Path, n: int) -> list[dict[str, object]]:
    applies = [c for c in calls(sdir) if "apply" in c["argv"]]  # type: ignore[operator]
    files = applies[n]["files"]
    assert isinstance(files, dict)
    return [d for d in yaml.safe_load_all(next(iter(files.values())))]


def pod_event(sdir: Path, kind: str, name: str, *, ready: bool, image: str) -> None:
    p = pod(name, labels={"app": "web", "lockstep.dev/resource": "web"},
            statuses=[container_status("web", ready=ready, image=image)])
    p["spec"]["containers"][0]["image"] = image
    with open(sdir / "pods.jsonl", "a") as fh:
        fh.write(json.dumps({"type": kind, "object": p}) + "\n")


def test_apply_watch_ready_forward_reapply_delete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sdir = tmp_path / "standin"
    env = install(tmp_path / "bin", sdir)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    (tmp_path / "Tiltfile").write_text(TILTFILE)
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = load(str(tmp_path / "Tiltfile"), [])
    assert result.ok, result.errors

    async def main() -> None:
        def loader(path: str, args: Sequence[str]) -> LoadResult:
            return result

        processes = SubprocessRunner()
        cli = Cli(processes, str(tmp_path))
        deployments = Deployments()
        engine: Engine | None = None
        runner = K8sRunner(cli, lambda: engine.snapshot.state.settings if engine else result.settings,
                           Images(), deployments)
        engine = Engine(EngineOptions(tiltfile=str(tmp_path / "Tiltfile"), state_dir=tmp_path / "state"),
                        loader=loader, runner=Runners({ResourceKind.K8S: runner}), logs=LogStore(None))
        engine.add_runtime(K8sRuntime(engine, cli, deployments))
        task = asyncio.ensure_future(engine.run())
        try:
            engine.initial_load()
            state = lambda: engine.snapshot.state  # noqa: E731
            # 1. apply: uncategorized (the ConfigMap) and web (Deployment + Service, image injected).
            await until(lambda: any("--watch" in c and "pods" in c for c in argvs(sdir)), "pod watch")
            web_apply = next(i for i, c in enumerate(c for c in argvs(sdir) if "apply" in c)
                             if any(d["kind"] == "Deployment" for d in applied_docs(sdir, i)))
            docs = applied_docs(sdir, web_apply)
            assert [d["kind"] for d in docs] == ["Service", "Deployment"]
            container = docs[1]["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
            assert container["image"] == "web:tilt-1" and container["imagePullPolicy"] == "IfNotPresent"
            assert docs[1]["spec"]["template"]["metadata"]["labels"]["lockstep.dev/resource"] == "web"  # type: ignore[index]
            assert state().rs["web"].runtime is not RuntimeStatus.READY
            # kind cluster, no registry: the built image is loaded into the nodes first.
            assert ["kind", "load", "docker-image", "web:tilt-1", "--name", "kind"] in argvs(sdir)
            watch = next(c for c in argvs(sdir) if "--watch" in c and "pods" in c)
            assert watch == ["kubectl", "--context", "kind-kind", "get", "pods", "--namespace", "default",
                             "--selector", "lockstep.dev/resource=web", "--watch", "--output-watch-events",
                             "-o", "json"]
            # 2. the pod comes up: not ready, then ready -> RuntimeReady, logs and a port-forward.
            # Pod logs are one stream (kubectl's stdout): levels come from each line's text;
            # kubectl's own stderr is labelled as kubectl's, a warning at least.
            (sdir / "pod-logs.txt").write_text("ERROR: database unreachable\n"
                                               "W1130 12:00:00.000000 1 main.go:10] slow start\n"
                                               "Traceback (most recent call last):\n")
            (sdir / "pod-logs-stderr.txt").write_text("unexpected EOF\n")
            pod_event(sdir, "ADDED", "web-1", ready=False, image="web:tilt-1")
            await until(lambda: any("logs" in c for c in argvs(sdir)), "log stream")
            assert state().rs["web"].runtime is not RuntimeStatus.READY
            # A failing pod is put in words in the resource's log, as an error.
            backoff = pod("web-1", labels={"app": "web"}, phase="Pending", statuses=[container_status(
                "web", ready=False, image="web:tilt-1",
                state={"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}})])
            with open(sdir / "pods.jsonl", "a") as fh:
                fh.write(json.dumps({"type": "MODIFIED", "object": backoff}) + "\n")
            words = "pod web-1: container web cannot pull image web:tilt-1: Back-off pulling image"
            await until(lambda: any(ln.text == words and ln.level is LogLevel.ERROR
                                    for ln in engine.logs.tail("web", 100)), "ImagePullBackOff in words")
            await until(lambda: state().rs["web"].runtime is RuntimeStatus.CRASHED, "web shown as failing")
            # A Warning event about the pod is shown too (kubectl get events --watch).
            with open(sdir / "events.jsonl", "a") as fh:
                fh.write(json.dumps({"type": "ADDED", "object": event(
                    "Pod", "web-1", "FailedMount", 'MountVolume.SetUp failed for volume "cfg": not found')}) + "\n")
            await until(lambda: any(ln.text == 'pod web-1: FailedMount: MountVolume.SetUp failed for volume "cfg": '
                                    'not found' for ln in engine.logs.tail("web", 100)), "the Warning event in words")
            (sdir / "drop-port-forward-once").touch()  # the first forward drops: it must reconnect
            pod_event(sdir, "MODIFIED", "web-1", ready=True, image="web:tilt-1")
            await until(lambda: state().rs["web"].runtime is RuntimeStatus.READY, "web ready")
            await until(lambda: sum(1 for c in argvs(sdir) if "port-forward" in c) == 2, "port-forward reconnect")
            assert any("port-forward 8080 -> web-1:8080 dropped; reconnecting in 1s" in ln.text
                       for ln in engine.logs.tail("web", 100))
            assert ["kubectl", "--context", "kind-kind", "port-forward", "--namespace", "default", "--address",
                    "127.0.0.1", "pod/web-1", "8080:8080"] in argvs(sdir)
            assert ["kubectl", "--context", "kind-kind", "logs", "--namespace", "default", "--follow",
                    "pod/web-1", "--container", "web"] in argvs(sdir)
            await until(lambda: any("[web-1/web] hello from pod/web-1" in ln.text
                                    for ln in engine.logs.tail("web", 100)), "pod log line in the resource log")
            await until(lambda: any("kubectl logs: unexpected EOF" in ln.text
                                    for ln in engine.logs.tail("web", 100)), "kubectl's stderr line")
            levels = {ln.text: ln.level for ln in engine.logs.tail("web", 200) if ln.text.startswith("[web-1/web]")}
            assert levels["[web-1/web] hello from pod/web-1"] is LogLevel.INFO
            assert levels["[web-1/web] ERROR: database unreachable"] is LogLevel.ERROR
            assert levels["[web-1/web] W1130 12:00:00.000000 1 main.go:10] slow start"] is LogLevel.WARN
            assert levels["[web-1/web] Traceback (most recent call last):"] is LogLevel.ERROR
            assert levels["[web-1/web] kubectl logs: unexpected EOF"] is LogLevel.WARN
            # 3. a new image: re-applied with the new ref; the forward moves to the new pod.
            engine.dispatch(A.Trigger("web", engine.now()))
            await until(lambda: sum(1 for c in argvs(sdir) if "apply" in c) >= 3, "second apply of web")
            assert ["kind", "load", "docker-image", "web:tilt-2", "--name", "kind"] in argvs(sdir)
            docs = applied_docs(sdir, 2)
            assert docs[1]["spec"]["template"]["spec"]["containers"][0]["image"] == "web:tilt-2"  # type: ignore[index]
            pod_event(sdir, "ADDED", "web-2", ready=True, image="web:tilt-2")
            pod_event(sdir, "DELETED", "web-1", ready=True, image="web:tilt-1")
            await until(lambda: any(c[-2:] == ["pod/web-2", "8080:8080"] for c in argvs(sdir)),
                        "port-forward moved to the new pod")
            await until(lambda: state().rs["web"].runtime is RuntimeStatus.READY, "web ready again")
            # The pod watch ends (an API server restart): it reconnects, and sees the pods again.
            def pod_watches() -> int:
                return sum(1 for c in argvs(sdir) if "--watch" in c and "pods" in c)
            before_drop = pod_watches()
            (sdir / "drop-pods-watch-once").touch()
            await until(lambda: pod_watches() == before_drop + 1, "the pod watch reconnected")
            assert any("the watch of pods ended; reconnecting in 1s" in ln.text for ln in engine.logs.tail("web", 200))
            await until(lambda: state().statuses["web"].runtime is RuntimeStatus.READY, "ready after the reconnect")
            # 4. disabling the resource deletes its objects (as Tilt), dependents' order aside.
            engine.dispatch(A.SetEnabled("web", False, engine.now()))
            await until(lambda: any("delete" in c for c in argvs(sdir)), "objects of the disabled resource deleted")
            deleted = next(c for c in calls(sdir) if "delete" in c["argv"])  # type: ignore[operator]
            files = deleted["files"]
            assert isinstance(files, dict)
            assert [d["kind"] for d in yaml.safe_load_all(next(iter(files.values())))] == ["Deployment", "Service"]
        finally:
            task.cancel()
            with __import__("contextlib").suppress(BaseException):
                await task

    asyncio.run(main())
    # 5. down: dependents first, the ConfigMap (uncategorized) last; exact command lines.
    before = len(calls(sdir))
    assert delete_k8s(result, print) == 0
    deletes = calls(sdir)[before:]
    assert [c["argv"][:6] for c in deletes if "delete" in c["argv"]] == [  # type: ignore[index]
        ["kubectl", "--context", "kind-kind", "delete", "--ignore-not-found", "-f"]] * 2
    kinds = [[d["kind"] for d in yaml.safe_load_all(next(iter(c["files"].values())))]  # type: ignore[attr-defined]
             for c in deletes if "delete" in c["argv"]]  # type: ignore[operator]
    assert kinds == [["Deployment", "Service"], ["ConfigMap"]]


def test_lockstep_up_deploys_through_the_standin_and_down_deletes(tmp_path: Path) -> None:
    """The real `lockstep up` process (build_engine's wiring) against the stand-in."""
    from upproc import VENV_BIN, Up, wait_until

    sdir = tmp_path / "standin"
    env = install(tmp_path / "bin", sdir)
    app = APP.replace("image: web", "image: nginx:1.27-alpine")
    (tmp_path / "app.yaml").write_text(app)
    (tmp_path / "Tiltfile").write_text("k8s_yaml('app.yaml')\nk8s_resource('web', port_forwards=8080)\n"
                                       "local_resource('after', cmd='echo web is ready', resource_deps=['web'])\n")
    with Up(tmp_path / "Tiltfile", tmp_path / "state", env=env) as up:
        wait_until(lambda: any("--watch" in c["argv"] and "pods" in c["argv"] for c in calls(sdir)),  # type: ignore[operator]
                   30, "the pod watch")
        assert "web is ready" not in up.log_text()  # `after` waits for web's pods (C1)
        pod_event(sdir, "ADDED", "web-1", ready=True, image="nginx:1.27-alpine")
        up.expect("web is ready", timeout=30)
        assert "lockstep: web: link at http://localhost:8080/" in up.log_text()
        up.stop()
        record = up.sdir / "k8s-deployed.json"
    # What was deployed is recorded, so that `down` knows to look (it evaluates the Tiltfile only then).
    assert json.loads(record.read_text())["web"]["objects"] == ["Service//web", "Deployment//web"]
    env = {**__import__("os").environ, **env, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")}
    before = len(calls(sdir))
    done = __import__("subprocess").run([f"{VENV_BIN}/lockstep", "down", "-f", str(tmp_path / "Tiltfile")],
                                        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "web: deleting Deployment/web, Service/web" in done.stdout
    assert "uncategorized: deleting ConfigMap/web-settings" in done.stdout
    assert [c["argv"][:3] for c in calls(sdir)[before:]] == [  # type: ignore[index]
        ["kubectl", "config", "view"], ["kubectl", "--context", "kind-kind"], ["kubectl", "--context", "kind-kind"]]
    assert sum(1 for c in calls(sdir)[before:] if "delete" in c["argv"]) == 2  # type: ignore[operator]
    assert not record.exists()


def test_up_names_a_missing_kubectl(tmp_path: Path) -> None:
    import shutil

    from upproc import VENV_BIN, Up

    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("sh", "echo", "true"):
        found = shutil.which(tool)
        assert found
        (bindir / tool).symlink_to(found)
    (tmp_path / "app.yaml").write_text(APP.replace("image: web", "image: nginx:1.27-alpine"))
    (tmp_path / "Tiltfile").write_text("k8s_yaml('app.yaml')\n")
    with Up(tmp_path / "Tiltfile", tmp_path / "state", env={"PATH": f"{VENV_BIN}:{bindir}"}) as up:
        up.expect("lockstep: error: `kubectl` is not installed (or not on PATH); it is needed to deploy `web`")
        up.expect("`kubectl` is not installed (or not on PATH): it is needed to deploy `web` to Kubernetes")
        up.stop()
