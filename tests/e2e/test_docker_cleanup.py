"""After a `kill -9` of lockstep, its containers and Compose networks are found again by label
and removed by the next `up` or by `down`; nobody else's are touched."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import uuid
from pathlib import Path

import pytest
from dockerd import DockerEngine, compose_available
from upproc import VENV_BIN, Up, wait_until

from lockstep.adapters.docker_cleanup import LABEL_RUN, LABEL_TILTFILE, tiltfile_key

pytestmark = pytest.mark.e2e
FORMAT = "{{.ID}} " + " ".join("{{.Label " + f'"{name}"' + "}}" for name in (LABEL_TILTFILE, LABEL_RUN))


def test_killed_runs_leave_nothing_behind_and_others_are_untouched(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    compose_available(docker_engine)
    project = "lsclean" + uuid.uuid4().hex[:6]
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        version: "2.4"
        services:
          worker:
            image: {busybox_image}
            command: ["sleep", "3600"]
            init: true
    """))
    tiltfile = f"docker_compose('docker-compose.yml', project_name='{project}')\n"
    key = tiltfile_key(str(tmp_path / "Tiltfile"))
    foreign = f"foreign-{project}"
    # Someone else's: a plain container, a network, and a container labelled for another Tiltfile.
    docker_engine.docker("network", "create", f"{foreign}-net")
    docker_engine.docker("run", "-d", "--name", foreign, "--network", f"{foreign}-net", busybox_image,
                         "sleep", "3600")
    docker_engine.docker("run", "-d", "--name", f"{foreign}-other", "--label", f"{LABEL_TILTFILE}=0123456789abcdef",
                         busybox_image, "sleep", "3600")

    def ours() -> list[tuple[str, str]]:
        out = docker_engine.docker("ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                                   "--format", FORMAT)
        rows = [line.split() for line in out.stdout.splitlines() if line.strip()]
        return [(r[0], r[2]) for r in rows if len(r) == 3 and r[1] == key]

    def project_networks() -> list[str]:
        out = docker_engine.docker("network", "ls", "--filter", f"label=com.docker.compose.project={project}",
                                   "--format", "{{.Name}}")
        return out.stdout.split()

    try:
        first = Up.write(tmp_path, tiltfile)
        (old_id, old_run), = wait_until(ours, timeout=90, what="the service's container")
        assert project_networks() == [f"{project}_default"]
        first.stop(signal.SIGKILL)  # no clean-up at all: the container outlives lockstep
        assert [c for c, _ in ours()] == [old_id]

        # The next `up` removes what the killed run left, then starts its own.
        second = Up.write(tmp_path, tiltfile)
        second.expect(f"removed 1 container ({project}", timeout=60)
        (new_id, new_run), = wait_until(lambda: [c for c in ours() if c[0] != old_id], timeout=90,
                                        what="the new run's container")
        assert new_run != old_run and [c for c, _ in ours()] == [new_id]
        second.stop(signal.SIGKILL)

        # `down` removes the second killed run's container and the project's network.
        done = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tmp_path / "Tiltfile")],
                              env={**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"removed 1 container ({project}" in done.stdout and f"1 network ({project}_default)" in done.stdout
        assert ours() == [] and project_networks() == []
        # A second `down` has nothing left to do.
        again = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tmp_path / "Tiltfile")],
                               env={**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")},
                               capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and "removed" not in again.stdout, again.stdout
        # Nobody else's were touched.
        names = docker_engine.docker("ps", "--format", "{{.Names}}").stdout.split()
        assert foreign in names and f"{foreign}-other" in names
        assert f"{foreign}-net" in docker_engine.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    finally:
        docker_engine.docker("rm", "-f", foreign, f"{foreign}-other", check=False)
        docker_engine.docker("network", "rm", f"{foreign}-net", check=False)
        for cid, _ in ours():
            docker_engine.docker("rm", "-f", cid, check=False)
