"""live_update into pods through `kubectl exec`, against the scripted kubectl stand-in.

No cluster runs here: the stand-in records every command line and keeps what each
`kubectl exec -i` read on stdin, so the test asserts the exact commands and the tar that
went into each ready pod's container. What this rests on is listed in docs/kubernetes.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import tarfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from kubectl_standin import calls, install
from podjson import container_status, pod

from lockstep.adapters.kubectl import Cli, LogFn
from lockstep.adapters.process import SubprocessRunner
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.k8s_runner import Deployments, K8sRunner
from lockstep.engine.k8s_runtime import K8sRuntime
from lockstep.engine.live_k8s import K8sLive
from lockstep.engine.runners import Runners
from lockstep.logs.store import LogStore
from lockstep.model.resource import LoadResult, Resource, ResourceKind
from lockstep.model.update import UpdateResult
from lockstep.store import actions as A
from lockstep.store.state import RuntimeStatus
from lockstep.tiltfile import load

pytestmark = pytest.mark.e2e

TILTFILE = """
docker_build('web', '.', live_update=[
    sync('static', '/app/static'),
    run('reload', trigger=['static/index.html']),
    run(['check']),
])
k8s_yaml('app.yaml')
"""
APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: sidecar, image: busybox}
        - {name: web, image: web}
"""
CTX = ["kubectl", "--context", "kind-kind"]


class Images:
    def __init__(self) -> None:
        self.builds = 0

    async def build(self, resource: Resource, log: LogFn) -> dict[str, str]:
        self.builds += 1
        return {"web": f"web:tilt-{self.builds}"}


def add_pod(sdir: Path, name: str, *, ready: bool, image: str = "web:tilt-1", deleting: bool = False) -> None:
    p = pod(name, labels={"app": "web", "lockstep.dev/resource": "web"}, deleting=deleting,
            statuses=[container_status("sidecar", ready=ready, image="busybox"),
                      container_status("web", ready=ready, image=image)])
    p["spec"]["containers"] = [{"name": "sidecar", "image": "busybox"}, {"name": "web", "image": image}]
    with open(sdir / "pods.jsonl", "a") as fh:
        fh.write(json.dumps({"type": "ADDED", "object": p}) + "\n")


def tar_members(sdir: Path, n: int) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO((sdir / f"exec-{n}.stdin").read_bytes())) as tar:
        return {m.name: tar.extractfile(m).read().decode() if m.isfile() else "<dir>"  # type: ignore[union-attr]
                for m in tar.getmembers()}


async def until(pred: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_live_update_into_every_ready_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sdir = tmp_path / "standin"
    for k, v in install(tmp_path / "bin", sdir).items():
        monkeypatch.setenv(k, v)
    (tmp_path / "Tiltfile").write_text(TILTFILE)
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "other.txt").write_text("1")
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("v1")
    (static / "old.css").write_text("old")
    result = load(str(tmp_path / "Tiltfile"), [])
    assert result.ok, result.errors
    images = Images()

    async def main() -> None:
        def loader(path: str, args: Sequence[str]) -> LoadResult:
            return result

        cli = Cli(SubprocessRunner(), str(tmp_path))
        deployments = Deployments()
        runner = K8sRunner(cli, lambda: result.settings, images, deployments, live=K8sLive(cli, deployments))
        engine = Engine(EngineOptions(tiltfile=str(tmp_path / "Tiltfile"), state_dir=tmp_path / "state"),
                        loader=loader, runner=Runners({ResourceKind.K8S: runner}), logs=LogStore(None))
        engine.add_runtime(K8sRuntime(engine, cli, deployments))
        task = asyncio.ensure_future(engine.run())

        def argvs() -> list[list[str]]:
            return [list(c["argv"]) for c in calls(sdir)]  # type: ignore[call-overload]

        def web() -> list[object]:
            return [r for r in engine.snapshot.state.history if r.resource == "web"]

        def log_text() -> str:
            return "\n".join(ln.text for ln in engine.logs.tail("web", 500))

        async def change(*paths: Path) -> int:
            n = len(web())
            engine.dispatch(A.FilesChanged(frozenset(str(p) for p in paths), engine.now()))
            await until(lambda: len(web()) > n, "the update to finish")
            return n

        try:
            engine.initial_load()
            await until(lambda: any("--watch" in c and "pods" in c for c in argvs()), "the pod watch")
            add_pod(sdir, "web-1", ready=True)
            add_pod(sdir, "web-2", ready=True)
            add_pod(sdir, "web-3", ready=True, deleting=True)  # terminating: never exec'd into
            await until(lambda: engine.snapshot.state.statuses["web"].runtime is RuntimeStatus.READY, "web ready")
            applies = sum(1 for c in argvs() if "apply" in c)

            # 1. An edit and a deletion under the sync: exec into each ready pod's `web` container.
            (static / "index.html").write_text("v2")
            (static / "old.css").unlink()
            before = len(argvs())
            n = await change(static / "index.html", static / "old.css")
            rec = web()[n]
            assert rec.result is UpdateResult.SUCCEEDED and rec.live_update, rec  # type: ignore[attr-defined]
            assert images.builds == 1 and sum(1 for c in argvs() if "apply" in c) == applies
            done = [c for c in argvs()[before:] if "logs" not in c]
            assert done[0] == [*CTX, "get", "pods", "--namespace", "default", "--selector",
                               "lockstep.dev/resource=web", "-o", "json"]
            expected = []
            for name in ("web-1", "web-2"):
                at = ["--namespace", "default", name, "-c", "web", "--"]
                expected += [[*CTX, "exec", *at, "rm", "-rf", "--", "/app/static/old.css"],
                             [*CTX, "exec", "-i", *at, "tar", "-x", "-C", "/"],
                             [*CTX, "exec", *at, "sh", "-c", "reload"],
                             [*CTX, "exec", *at, "check"]]
            assert done[1:] == expected
            assert tar_members(sdir, 1) == {"app/static/index.html": "v2"}
            assert tar_members(sdir, 5) == {"app/static/index.html": "v2"}
            assert "Synced 1 file into pod/web-1/web: /app/static/index.html" in log_text()
            # The pods stayed: their watch and log streams go on, and the resource is ready again.
            await until(lambda: engine.snapshot.state.statuses["web"].runtime is RuntimeStatus.READY, "ready again")
            assert not any("--watch" in c for c in argvs()[before:]), argvs()[before:]
            streams = [c for c in argvs() if "logs" in c]
            assert len(streams) == len({tuple(c) for c in streams}), streams  # no pod's log followed twice

            # 2. A failing run step fails the update, in the log; the next change recovers.
            (sdir / "fail-exec-check").write_text("check: not healthy\n")
            (static / "new.css").write_text("new")
            n = await change(static / "new.css")
            rec = web()[n]
            assert rec.result is UpdateResult.FAILED and rec.live_update  # type: ignore[attr-defined]
            assert "run step `check` in pod/web-1/web exited with code 1" in rec.error  # type: ignore[attr-defined]
            assert "check: not healthy" in log_text()
            (sdir / "fail-exec-check").unlink()
            (static / "index.html").write_text("v3")
            before = len(argvs())
            n = await change(static / "index.html")
            assert web()[n].result is UpdateResult.SUCCEEDED  # type: ignore[attr-defined]
            # The failed attempt's file is synced again with the new one.
            last = max(int(p.name.split("-")[1].split(".")[0]) for p in sdir.glob("exec-*.stdin"))
            assert tar_members(sdir, last) == {"app/static/index.html": "v3", "app/static/new.css": "new"}
            assert sum(1 for c in argvs()[before:] if "exec" in c) == 6  # tar, reload, check in each pod

            # 3. A change under no sync: a full build and apply, no exec.
            (tmp_path / "other.txt").write_text("2")
            before = len(argvs())
            n = await change(tmp_path / "other.txt")
            assert web()[n].result is UpdateResult.SUCCEEDED and not web()[n].live_update  # type: ignore[attr-defined]
            assert images.builds == 2 and any("apply" in c for c in argvs()[before:])
            assert not any("exec" in c for c in argvs()[before:])
            assert "Full rebuild of web: not under any sync(): " in log_text()
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    asyncio.run(main())
