"""End to end against a real Kubernetes cluster: runs whenever `kubectl cluster-info` succeeds.

Without a cluster (as on the machines this was written on) every test here skips, saying why.
With one, it is how users and a CI runner with a cluster check the Kubernetes work:
1. the pet-store, target=kind: build, `kind load`, custom_build tag, deployment gated by the
   barrier, port-forward; the seed's endpoints answer through the forward; `down` deletes it;
2. a small Tiltfile of its own: a Namespace, a Deployment of a public image with a port
   forward, a Job gating a dependent local_resource, an object kept by its down-policy; an
   edit of the YAML re-applies; `down` deletes in order, keeping the Namespace and the kept
   object.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from petstore_harness import copy_example
from petstore_support import (
    Lockstep,
    free_port,
    get,
    lockstep_env,
    save_artifact,
    try_get,
    wait_healthy,
)
from upproc import VENV_BIN, wait_until

pytestmark = pytest.mark.e2e


def _cluster() -> tuple[str, str]:
    """(reason to skip, current context): the reason is empty when a cluster answers."""
    if shutil.which("kubectl") is None:
        return "kubectl is not installed", ""
    try:
        info = subprocess.run(["kubectl", "cluster-info", "--request-timeout=5s"], capture_output=True, text=True,
                              timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return "`kubectl cluster-info` did not answer within 20s", ""
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines() or ["no output"])[-1]
        return f"no Kubernetes cluster: `kubectl cluster-info` failed: {last}", ""
    ctx = subprocess.run(["kubectl", "config", "current-context"], capture_output=True, text=True, check=False)
    return "", ctx.stdout.strip()


SKIP, CONTEXT = _cluster()
needs_cluster = pytest.mark.skipif(bool(SKIP), reason=SKIP or "a cluster answers")


def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, check=False, timeout=60)


def down(root: Path, tiltfile: Path, env: dict[str, str], *extra: str) -> str:
    done = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tiltfile), *extra], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_cluster
def test_petstore_target_kind(tmp_path: Path) -> None:
    if not CONTEXT.startswith("kind-"):
        pytest.skip(f"the pet-store's target=kind needs a kind context; the current one is {CONTEXT!r}")
    for tool in ("kind", "docker"):
        if shutil.which(tool) is None:
            pytest.skip(f"the pet-store's target=kind needs `{tool}`")
    root = copy_example(tmp_path / "petstore")
    port = free_port()
    env = lockstep_env(port, tmp_path / "state", uuid.uuid4().hex)
    cluster = CONTEXT.removeprefix("kind-")
    args = ["--", "--target=kind", f"--kind_cluster={cluster}"]
    ls = Lockstep.start(["up", "-f", str(root / "Tiltfile"), "--stream", "--port", "0", *args], root, env)
    try:
        wait_healthy(port, timeout=600, ls=ls)  # through the port-forward to the pod
        out = ls.output()
        # The barrier gated the deploy: every build finished before the image was built.
        assert out.index("all builds finished") < out.rindex("kind load docker-image")
        assert get(port, "/").status == 200 and get(port, "/docs").status == 200
        pets = get(port, "/api/pets")
        assert pets.status == 200 and pets.json()
        image = kubectl("get", "deployment", "petstore", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
        assert image.stdout.startswith("petstore:"), image.stdout  # the injected, per-deploy tag
        assert image.stdout != "petstore:dev"
    finally:
        try:
            ls.stop()
        finally:
            save_artifact(f"lockstep-kind-{port}.log", ls.output())
    said = down(root, root / "Tiltfile", env, *args)
    assert "petstore: deleting Deployment/petstore" in said
    wait_until(lambda: kubectl("get", "deployment", "petstore").returncode != 0, timeout=120,
               what="the deployment to be deleted", interval=0.5)


SMALL = """
allow_k8s_contexts(k8s_context())
k8s_yaml('app.yaml')
k8s_resource('web', port_forwards='{port}:80')
k8s_resource('seed', resource_deps=['web'])
local_resource('after-seed', cmd='echo seeded', resource_deps=['seed'])
"""
APP = """
apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: keep-me
  namespace: {ns}
  annotations: {{tilt.dev/down-policy: keep}}
data: {{greeting: "{greeting}"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: web
          image: nginx:1.27-alpine
          ports: [{{containerPort: 80}}]
          env: [{{name: GREETING, value: "{greeting}"}}]
---
apiVersion: batch/v1
kind: Job
metadata: {{name: seed, namespace: {ns}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: seed, image: busybox:1.36, command: ["sh", "-c", "echo seeding; sleep 1"]}}]
"""


@needs_cluster
def test_small_tiltfile_apply_ready_forward_edit_down(tmp_path: Path) -> None:
    ns = f"lockstep-e2e-{uuid.uuid4().hex[:8]}"
    port = free_port()
    (tmp_path / "Tiltfile").write_text(SMALL.format(port=port))
    (tmp_path / "app.yaml").write_text(APP.format(ns=ns, greeting="one"))
    env = lockstep_env(port, tmp_path / "state", uuid.uuid4().hex)
    ls = Lockstep.start(["up", "-f", str(tmp_path / "Tiltfile"), "--stream", "--port", "0"], tmp_path, env)
    try:
        wait_until(lambda: (r := try_get(port, "/")) is not None and r.status == 200, timeout=300,
                   what="nginx through the port-forward", interval=0.5)
        # The Job completed before its dependent ran; its pod's log reached the resource log.
        wait_until(lambda: "seeded" in ls.output(), timeout=300, what="after-seed to run", interval=0.5)
        out = ls.output()
        assert "seeding" in out and out.index("seeding") < out.index("seeded")
        assert "[web-" in out  # pod logs are prefixed with pod/container
        # An edit of the YAML re-applies: the new env value reaches the cluster.
        (tmp_path / "app.yaml").write_text(APP.format(ns=ns, greeting="two"))

        def greeting() -> str:
            got = kubectl("get", "deployment", "web", "-n", ns, "-o", "json")
            spec = json.loads(got.stdout)["spec"]["template"]["spec"] if got.returncode == 0 else {}
            return str(spec.get("containers", [{}])[0].get("env", [{}])[0].get("value", ""))
        wait_until(lambda: greeting() == "two", timeout=120, what="the edited YAML applied", interval=0.5)
        wait_until(lambda: (r := try_get(port, "/")) is not None and r.status == 200, timeout=300,
                   what="the forward to follow the new pod", interval=0.5)
    finally:
        try:
            ls.stop()
        finally:
            save_artifact(f"lockstep-k8s-small-{port}.log", ls.output())
    try:
        said = down(tmp_path, tmp_path / "Tiltfile", env)
        assert said.index("seed: deleting") < said.index("web: deleting")  # dependents first
        assert "keeping ConfigMap/keep-me" in said and f"keeping Namespace/{ns}" in said
        wait_until(lambda: kubectl("get", "deployment", "web", "-n", ns).returncode != 0, timeout=120,
                   what="web to be deleted", interval=0.5)
        assert kubectl("get", "configmap", "keep-me", "-n", ns).returncode == 0
        assert kubectl("get", "namespace", ns).returncode == 0
    finally:
        kubectl("delete", "namespace", ns, "--wait=false")
