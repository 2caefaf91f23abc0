"""Kubernetes under hostile conditions, with the real `lockstep ci`/`up` and the kubectl stand-in:
a kubectl that never answers, an apply the cluster refuses, a context that is not allowed, a
watch that prints garbage. Each must end in a clear failure in bounded time (or, for the
garbage, be reported and survived), and leave no kubectl running."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from kubectl_standin import install
from podjson import container_status, pod
from procscan import marked_pids
from upproc import VENV_BIN, Up, wait_until

pytestmark = pytest.mark.e2e

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27-alpine}]
"""
PROD_VIEW = {"current-context": "prod-admin",
             "contexts": [{"name": "prod-admin", "context": {"cluster": "prod", "user": "admin"}}],
             "clusters": [{"name": "prod", "cluster": {"server": "https://k8s.example.com:6443"}}]}


def _project(tmp_path: Path, settings: str = "") -> tuple[dict[str, str], Path]:
    sdir = tmp_path / "standin"
    env = install(tmp_path / "bin", sdir)
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "Tiltfile").write_text(settings + "k8s_yaml('app.yaml')\n")
    return env, sdir


def _ci(tmp_path: Path, env: dict[str, str], marker: str) -> tuple[subprocess.CompletedProcess[str], float]:
    full = {**os.environ, **env, "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "HOSTILE_MARK": marker}
    start = time.monotonic()
    done = subprocess.run([f"{VENV_BIN}/lockstep", "ci", "--timeout", "90s", "-f", str(tmp_path / "Tiltfile")],
                          env=full, capture_output=True, text=True, timeout=120, check=False)
    return done, time.monotonic() - start


@pytest.mark.parametrize("verb", ["apply", "config"])
def test_ci_fails_clearly_when_kubectl_never_answers(tmp_path: Path, verb: str) -> None:
    env, sdir = _project(tmp_path, "update_settings(k8s_upsert_timeout_secs=2)\n")
    (sdir / f"hang-{verb}").touch()
    marker = uuid.uuid4().hex
    done, took = _ci(tmp_path, env, marker)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "got no answer within 2s and was stopped" in out, out
    assert "k8s_upsert_timeout_secs" in out
    assert took < 60, f"ci took {took:.0f}s"
    assert not marked_pids(marker), "a kubectl was left running"


def test_ci_fails_clearly_when_the_cluster_refuses_the_apply(tmp_path: Path) -> None:
    env, sdir = _project(tmp_path)
    (sdir / "fail-apply").write_text('Error from server (Forbidden): deployments.apps "web" is forbidden: '
                                     'User "dev" cannot patch resource "deployments"\n')
    done, _ = _ci(tmp_path, env, uuid.uuid4().hex)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert 'kubectl apply failed (exit 1): Error from server (Forbidden): deployments.apps "web" is forbidden' in out


def test_ci_refuses_a_remote_context_that_the_tiltfile_does_not_allow(tmp_path: Path) -> None:
    env, sdir = _project(tmp_path)
    (sdir / "context.json").write_text(json.dumps(PROD_VIEW))
    done, _ = _ci(tmp_path, env, uuid.uuid4().hex)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "allow_k8s_contexts('prod-admin')" in out
    assert not any("apply" in line for line in (sdir / "calls.jsonl").read_text().splitlines())


def test_a_garbled_watch_event_is_reported_and_the_next_events_still_count(tmp_path: Path) -> None:
    env, sdir = _project(tmp_path)
    (tmp_path / "Tiltfile").write_text("k8s_yaml('app.yaml')\n"
                                       "local_resource('after', cmd='echo web is ready', resource_deps=['web'])\n")
    with Up(tmp_path / "Tiltfile", tmp_path / "state", env=env) as up:
        wait_until(lambda: "--watch" in (sdir / "calls.jsonl").read_text() if (sdir / "calls.jsonl").exists()
                   else False, 30, "the pod watch")
        ready = pod("web-1", labels={"app": "web", "lockstep.dev/resource": "web"},
                    statuses=[container_status("web", ready=True, image="nginx:1.27-alpine")])
        with open(sdir / "pods.jsonl", "a") as fh:
            fh.write('{"type": "ADDED", "object": <proxy error>\n')
            fh.write(json.dumps({"type": "ADDED", "object": ready}) + "\n")
        up.expect("malformed JSON skipped", timeout=30)
        up.expect("web is ready", timeout=30)
        assert up.stop() == 0


def test_ci_fails_clearly_when_the_pod_watch_never_answers(tmp_path: Path) -> None:
    env, sdir = _project(tmp_path, "update_settings(k8s_upsert_timeout_secs=2)\n")
    (sdir / "hang-get-pods").touch()
    marker = uuid.uuid4().hex
    done, took = _ci(tmp_path, env, marker)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "kubectl did not answer: `kubectl get pods --watch` printed nothing within 2s" in out, out
    assert "k8s_upsert_timeout_secs" in out
    assert took < 60, f"ci took {took:.0f}s (its timeout is 90s)"
    assert not marked_pids(marker), "a kubectl was left running"


def test_an_unanswered_pod_watch_is_retried_and_recovers(tmp_path: Path) -> None:
    env, sdir = _project(tmp_path, "update_settings(k8s_upsert_timeout_secs=1)\n")
    (tmp_path / "Tiltfile").write_text("update_settings(k8s_upsert_timeout_secs=1)\nk8s_yaml('app.yaml')\n"
                                       "local_resource('after', cmd='echo web is ready', resource_deps=['web'])\n")
    (sdir / "hang-get-pods").touch()
    with Up(tmp_path / "Tiltfile", tmp_path / "state", env=env) as up:
        up.expect("kubectl did not answer: `kubectl get pods --watch` printed nothing within 1s", timeout=60)
        up.expect("no answer from `kubectl get pods --watch`; reconnecting in", timeout=30)
        # The cluster answers again: the next watch sees the pod become ready.
        (sdir / "hang-get-pods").unlink()
        ready = pod("web-1", labels={"app": "web", "lockstep.dev/resource": "web"},
                    statuses=[container_status("web", ready=True, image="nginx:1.27-alpine")])
        (sdir / "pods.jsonl").write_text(json.dumps({"type": "ADDED", "object": ready}) + "\n")
        up.expect("web is ready", timeout=60)
        assert up.stop() == 0


def test_a_watch_of_no_pods_yet_is_not_a_fault(tmp_path: Path) -> None:
    env, sdir = _project(tmp_path)
    (tmp_path / "Tiltfile").write_text("update_settings(k8s_upsert_timeout_secs=1)\nk8s_yaml('app.yaml')\n"
                                       "local_resource('after', cmd='echo web is ready', resource_deps=['web'])\n")
    with Up(tmp_path / "Tiltfile", tmp_path / "state", env=env) as up:
        # Silent past the bound, but the cluster answers a plain list (with nothing in it).
        wait_until(lambda: any("get" in c["argv"] and "pods" in c["argv"] and "--watch" not in c["argv"]
                               for c in _calls(sdir)), 60, "the list that checks a silent watch")
        ready = pod("web-1", labels={"app": "web", "lockstep.dev/resource": "web"},
                    statuses=[container_status("web", ready=True, image="nginx:1.27-alpine")])
        (sdir / "pods.jsonl").write_text(json.dumps({"type": "ADDED", "object": ready}) + "\n")
        up.expect("web is ready", timeout=60)
        assert "kubectl did not answer" not in up.log_text()
        assert up.stop() == 0


def _calls(sdir: Path) -> list[dict[str, list[str]]]:
    path = sdir / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("verb", ["delete", "config"])
def test_down_fails_clearly_when_kubectl_never_answers(tmp_path: Path, verb: str) -> None:
    env, sdir = _project(tmp_path, "update_settings(k8s_upsert_timeout_secs=2)\n")
    with Up(tmp_path / "Tiltfile", tmp_path / "state", env=env) as up:
        up.expect("Applied Deployment", timeout=30)
        assert up.stop() == 0
    (sdir / f"hang-{verb}").touch()
    marker = uuid.uuid4().hex
    full = {**os.environ, **env, "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "HOSTILE_MARK": marker}
    start = time.monotonic()
    done = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tmp_path / "Tiltfile")],
                          env=full, capture_output=True, text=True, timeout=60, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "got no answer within 2s and was stopped; is the cluster reachable?" in out, out
    assert time.monotonic() - start < 30
    assert not marked_pids(marker), "a kubectl was left running"
