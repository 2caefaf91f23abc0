"""docker_compose / dc_resource on a real engine: built images substituted into the service,
logs per service, readiness from the healthcheck, and the project gone after stop."""

from __future__ import annotations

import http.client
import os
import subprocess
import textwrap
import urllib.request
from pathlib import Path

import pytest
from dockerd import DockerEngine, compose_available
from petstore_support import free_port
from upproc import VENV_BIN, Up, wait_until

from lockstep.engine.checker import check_history
from lockstep.model.update import UpdateResult

pytestmark = pytest.mark.e2e


def fetch(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2) as r:
            return str(r.read().decode())
    except (OSError, http.client.HTTPException):
        return ""  # the published port answers before (and while) the container is replaced


def test_compose_service_runs_the_built_image(tmp_path: Path, docker_engine: DockerEngine,
                                             busybox_image: str) -> None:
    compose_available(docker_engine)
    port = free_port()
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("v1")
    (tmp_path / "web" / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY index.html /www/index.html\n")
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        version: "2.4"
        services:
          web:
            build: web
            image: lockstep-test/web
            command: ["httpd", "-f", "-v", "-p", "80", "-h", "/www"]
            init: true
            ports: ["127.0.0.1:{port}:80"]
            healthcheck:
              test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/index.html"]
              interval: 1s
              timeout: 1s
              retries: 30
          other:
            image: {busybox_image}
            command: ["sleep", "3600"]
            init: true
    """))
    probe = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/index.html', timeout=5)"
    tiltfile = f"""
docker_build('lockstep-test/web', 'web')
docker_compose('docker-compose.yml', project_name='ls-proj')
dc_resource('web', labels=['app'], resource_deps=['other'])
# Runs only once `web` is ready (healthy): its first try must find the page.
local_resource('after-web', cmd=['python3', '-c', {probe!r}], resource_deps=['web'])
"""
    project = "ls-proj"

    def project_containers() -> list[str]:
        out = docker_engine.docker("ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                                   "--format", "{{.Names}} {{.Image}}").stdout
        return sorted(out.split("\n")[:-1])

    with Up.write(tmp_path, tiltfile) as up:
        wait_until(lambda: fetch(port) == "v1", timeout=90, what="the service to answer v1")
        running = project_containers()
        assert len(running) == 2 and any(" lockstep-test/web:tilt-" in c for c in running), running
        (tmp_path / "web" / "index.html").write_text("v2")
        wait_until(lambda: fetch(port) == "v2", timeout=90, what="the rebuilt image to answer v2")
        # The service's own output (httpd -v logs each answer) is streamed into its log.
        up.expect("response:200", timeout=30)
        assert any(line.split()[1] == "web" for line in up.log_text().splitlines() if "response:200" in line)
        wait_until(lambda: any(r.resource == "after-web" for r in up.history()), timeout=60,
                   what="the dependent of `web` to run")
        # A failed rebuild leaves the running container in place, and still lockstep's to remove.
        (tmp_path / "web" / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN exit 7\n")
        wait_until(lambda: any(r.resource == "web" and r.result is UpdateResult.FAILED for r in up.history()),
                   timeout=60, what="the broken build to fail")
        assert fetch(port) == "v2"
        up.stop()
    history = up.history()
    assert check_history(history) == []
    web = [r for r in history if r.resource == "web" and r.result is UpdateResult.SUCCEEDED]
    other = [r for r in history if r.resource == "other"]
    assert web and other and min(r.start for r in web) >= min(r.end or 0 for r in other)
    after = [r for r in history if r.resource == "after-web"]
    assert after and after[0].result is UpdateResult.SUCCEEDED, after
    # Stopping lockstep took the project down: containers (and its network) are gone.
    wait_until(lambda: project_containers() == [], timeout=30, what="the project's containers to be removed")
    networks = docker_engine.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert not any(n.startswith(project) for n in networks), networks


def test_ci_brings_a_compose_service_up_and_takes_it_down(tmp_path: Path, docker_engine: DockerEngine,
                                                          busybox_image: str) -> None:
    compose_available(docker_engine)
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        services:
          worker:
            image: {busybox_image}
            command: ["sleep", "3600"]
            init: true
    """))
    (tmp_path / "Tiltfile").write_text("docker_compose('docker-compose.yml', project_name='ls-ci')\n")
    done = subprocess.run([f"{VENV_BIN}/lockstep", "ci", "-f", str(tmp_path / "Tiltfile"), "--timeout", "90s"],
                          cwd=tmp_path, env={**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")},
                          capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    left = docker_engine.docker("ps", "-a", "--filter", "label=com.docker.compose.project=ls-ci", "-q").stdout
    assert left == "", left
