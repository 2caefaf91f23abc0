"""A serve_cmd that runs `docker run $LOCKSTEP_DOCKER_LABELS ...`: its container is removed at a
clean stop, and after a `kill -9` of lockstep by the next `up` and by `down`; an unlabelled
container is never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from dockerd import DockerEngine
from upproc import VENV_BIN, Up, wait_until

pytestmark = pytest.mark.e2e


def test_labelled_serve_containers_outlive_no_run(tmp_path: Path, docker_engine: DockerEngine,
                                                 busybox_image: str) -> None:
    name = "lslabel" + uuid.uuid4().hex[:6]
    stranger = f"{name}-stranger"
    # `sleep` as PID 1 ignores the SIGTERM that `docker run` forwards: only a removal stops it.
    (tmp_path / "Tiltfile").write_text(
        f"local_resource('svc', serve_cmd='exec docker run --rm --name {name} $LOCKSTEP_DOCKER_LABELS "
        f"{busybox_image} sleep 3600')\n")
    env = {**docker_engine.env}

    def running() -> list[str]:
        out = docker_engine.docker("ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.ID}}")
        return out.stdout.split()

    docker_engine.docker("run", "-d", "--name", stranger, busybox_image, "sleep", "3600")
    ups: list[Up] = []
    try:
        first = Up(tmp_path / "Tiltfile", tmp_path / "state", env=env)
        ups.append(first)
        (old,) = wait_until(running, timeout=90, what="the serve_cmd's container")
        first.stop(signal.SIGKILL)
        # The watchdog killed `docker run`; the container lives on, owned by nobody.
        assert running() == [old]

        # The next `up` removes it before the serve_cmd runs again under the same --name.
        second = Up(tmp_path / "Tiltfile", tmp_path / "state", env=env)
        ups.append(second)
        second.expect(f"removed 1 container ({name})", timeout=60)
        (new,) = wait_until(lambda: [c for c in running() if c != old], timeout=90, what="the new container")
        assert new != old
        second.stop(signal.SIGKILL)

        done = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tmp_path / "Tiltfile")],
                              env={**os.environ, **env, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"removed 1 container ({name})" in done.stdout, done.stdout
        assert running() == []

        # A clean stop removes its own.
        third = Up(tmp_path / "Tiltfile", tmp_path / "state", env=env)
        ups.append(third)
        wait_until(running, timeout=90, what="the third run's container")
        assert third.stop(signal.SIGTERM) == 0
        assert running() == [], third.log_text()
        assert stranger in docker_engine.docker("ps", "--format", "{{.Names}}").stdout.split()
    finally:
        for up in ups:
            if up.proc.poll() is None:
                up.stop(signal.SIGKILL)
        docker_engine.docker("rm", "-f", stranger, name, check=False)
