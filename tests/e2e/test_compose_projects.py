"""Compose projects shaped like real ones, on a real engine: services Compose builds itself,
`links` ordering, and an edit to one service's definition redeploying it."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
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
        return ""


def service_env(engine: DockerEngine, project: str, service: str) -> str:
    ids = engine.docker("ps", "-q", "--filter", f"label=com.docker.compose.project={project}",
                        "--filter", f"label=com.docker.compose.service={service}").stdout.split()
    if len(ids) != 1:
        return ""
    return engine.docker("inspect", "--format", "{{.Config.Env}}", ids[0], check=False).stdout


def test_compose_builds_its_own_services_and_redeploys_an_edited_one(tmp_path: Path, docker_engine: DockerEngine,
                                                                       busybox_image: str) -> None:
    compose_available(docker_engine)
    port = free_port()
    project = "ls-own-build"
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("v1")
    (tmp_path / "web" / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY index.html /www/index.html\n")
    compose = textwrap.dedent(f"""
        version: "2.4"
        services:
          cache:
            image: {busybox_image}
            command: ["sh", "-c", "echo cache says $$GREETING; sleep 3600"]
            init: true
            environment: {{GREETING: hello}}
          web:
            build: web
            command: ["httpd", "-f", "-v", "-p", "80", "-h", "/www"]
            init: true
            ports: ["127.0.0.1:{port}:80"]
            links: [cache]
    """)
    (tmp_path / "docker-compose.yml").write_text(compose)
    with Up.write(tmp_path, f"docker_compose('docker-compose.yml', project_name='{project}')\n") as up:
        # No docker_build names `web`'s image: Compose builds it (with --no-build it could not run).
        wait_until(lambda: fetch(port) == "v1", timeout=120, what="the service Compose built to answer v1")
        # Its build context is watched: an edit rebuilds it.
        (tmp_path / "web" / "index.html").write_text("v2")
        wait_until(lambda: fetch(port) == "v2", timeout=120, what="the edited context to be rebuilt and served")
        # Editing one service's definition redeploys that service with the new definition.
        assert "GREETING=hello" in service_env(docker_engine, project, "cache")
        (tmp_path / "docker-compose.yml").write_text(compose.replace("GREETING: hello", "GREETING: bonjour"))
        wait_until(lambda: "GREETING=bonjour" in service_env(docker_engine, project, "cache"), timeout=120,
                   what="the edited service to be redeployed with its new environment")
        up.stop()
    # Both services stop together: one `down` takes the project down, with no `rm` racing it
    # (which printed "ERROR: ... No such container" / "removal ... already in progress").
    stopping = [ln for ln in up.log_text().splitlines() if "Stopping: " in ln]
    assert len(stopping) == 1 and stopping[0].endswith(" down"), stopping
    assert "ERROR" not in up.log_text(), up.log_text()[-3000:]
    assert docker_engine.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").stdout == ""
    history = up.history()
    assert check_history(history) == []
    cache = [r for r in history if r.resource == "cache" and r.result is UpdateResult.SUCCEEDED]
    web = [r for r in history if r.resource == "web"]
    # `links: [cache]` orders `web` after `cache`, as Compose (and Tilt) do.
    assert cache and web and web[0].start >= (cache[0].end or 0), (cache[0], web[0])
    assert all(r.result is UpdateResult.SUCCEEDED for r in web), web


def test_a_service_enabled_again_while_its_container_is_being_removed_keeps_running(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    compose_available(docker_engine)
    project = "ls-reenable"
    # `sleep` as PID 1 ignores SIGTERM: removing the container takes the whole grace period,
    # as with many real images (a node server started by `sh -c`).
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        version: "2.4"
        services:
          cache:
            image: {busybox_image}
            command: ["sleep", "3600"]
            stop_grace_period: 4s
    """))
    up = Up.write(tmp_path, f"docker_compose('docker-compose.yml', project_name='{project}')\n")

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([f"{VENV_BIN}/lockstep", *argv, "-f", str(up.tiltfile)], env=up.env,
                              capture_output=True, text=True, timeout=30)

    def container() -> str:
        return docker_engine.docker("ps", "-q", "--filter", f"label=com.docker.compose.project={project}").stdout

    with up:
        wait_until(lambda: "ready" in cli("get").stdout, timeout=90, what="the service to be ready")
        old = container()
        assert cli("disable", "cache").returncode == 0
        up.expect("Stopping: ", timeout=30)
        assert cli("enable", "cache").returncode == 0  # while the old container is still stopping
        wait_until(lambda: container() not in ("", old), timeout=60, what="a new container")
        # The removal of the old one must not take the new one with it.
        wait_until(lambda: "ready" in cli("get").stdout.split("cache", 1)[1].splitlines()[0], timeout=30,
                   what="the service to be ready again")
        new = container()
        assert new and new != old
        assert "is missing" not in up.log_text() and "is exited" not in up.log_text(), up.log_text()[-3000:]
        up.stop()


def _ci(tmp_path: Path, timeout: str = "90s") -> subprocess.CompletedProcess[str]:
    return subprocess.run([f"{VENV_BIN}/lockstep", "ci", "-f", str(tmp_path / "Tiltfile"), "--timeout", timeout],
                          cwd=tmp_path, env={**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")},
                          capture_output=True, text=True, timeout=150)


def test_a_one_shot_service_that_completes_lets_its_dependents_run(tmp_path: Path, docker_engine: DockerEngine,
                                                                    busybox_image: str) -> None:
    # A migration service runs once and exits 0; the API waits for it to complete. That is
    # success (Tilt shows it so; Compose calls it service_completed_successfully), not a crash.
    compose_available(docker_engine)
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        services:
          migrate:
            image: {busybox_image}
            command: ["sh", "-c", "echo migrating; sleep 1; echo migrated"]
          api:
            image: {busybox_image}
            command: ["sleep", "3600"]
            init: true
            depends_on:
              migrate: {{condition: service_completed_successfully}}
    """))
    (tmp_path / "Tiltfile").write_text("docker_compose('docker-compose.yml', project_name='ls-oneshot')\n")
    done = _ci(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # The API's update starts only once the migration has completed, not while it runs.
    completed = done.stdout.find("container of service migrate completed (exit code 0)")
    api_starts = done.stdout.find("| Update #", done.stdout.find("api   "))
    assert 0 <= completed < api_starts, done.stdout[-3000:]
    left = docker_engine.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=ls-oneshot").stdout
    assert left == "", left


def test_ci_ends_when_a_service_crashes_while_its_container_is_removed(tmp_path: Path, docker_engine: DockerEngine,
                                                                       busybox_image: str) -> None:
    # The crash fails the run at once, while the crashed container's removal is still under
    # way: `ci` must wait for that removal and exit, not hang on it.
    compose_available(docker_engine)
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        services:
          worker:
            image: {busybox_image}
            command: ["sh", "-c", "echo starting; exit 3"]
    """))
    (tmp_path / "Tiltfile").write_text("docker_compose('docker-compose.yml', project_name='ls-crash')\n")
    done = _ci(tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "worker: container exited" in done.stderr and "exit code 3" in done.stdout, done.stderr[-3000:]
    assert "timed out" not in done.stderr, done.stderr[-3000:]
    left = docker_engine.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=ls-crash").stdout
    assert left == "", left


def test_the_env_file_of_docker_compose_interpolates_the_services(tmp_path: Path, docker_engine: DockerEngine,
                                                                  busybox_image: str) -> None:
    compose_available(docker_engine)
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        services:
          hello:
            image: {busybox_image}
            command: ["sh", "-c", "echo greeting is $$GREETING; sleep 3600"]
            init: true
            environment: {{GREETING: "${{GREETING:-unset}}"}}
    """))
    (tmp_path / "dev.env").write_text("GREETING=from-the-env-file\n")
    (tmp_path / "Tiltfile").write_text(
        "docker_compose('docker-compose.yml', env_file='dev.env', project_name='ls-envfile')\n")
    up = Up(tmp_path / "Tiltfile", tmp_path / "state")
    with up:
        up.expect("greeting is ", timeout=90)
        assert "greeting is from-the-env-file" in up.log_text(), up.log_text()[-2000:]
        up.stop()


def test_a_stop_during_a_services_first_up_leaves_no_container(tmp_path: Path, docker_engine: DockerEngine,
                                                               busybox_image: str) -> None:
    # Ctrl-C while `up` is still running (here: it takes 60 s after creating the container, as a
    # slow pull or start would): no runtime has taken the service on yet, so the update itself
    # removes what its `up` created, network included.
    compose_available(docker_engine)
    real_compose, real_docker = shutil.which("docker-compose"), shutil.which("docker")
    if real_compose is None or real_docker is None:
        pytest.skip("needs docker-compose (v1) to slow down")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker-compose").write_text(
        f'#!/bin/sh\n"{real_compose}" "$@"; rc=$?\nfor a in "$@"; do [ "$a" = up ] && sleep 60; done\nexit $rc\n')
    (bin_dir / "docker").write_text(f'#!/bin/sh\n[ "$1" = compose ] && exit 1\nexec "{real_docker}" "$@"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    project = "ls-stop-in-up"
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        services:
          slow:
            image: {busybox_image}
            command: ["sleep", "3600"]
            init: true
    """))
    (tmp_path / "Tiltfile").write_text(f"docker_compose('docker-compose.yml', project_name='{project}')\n")
    up = Up(tmp_path / "Tiltfile", tmp_path / "state", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})

    def containers() -> str:
        return docker_engine.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").stdout

    with up:
        wait_until(containers, timeout=90, what="`up` to create the container")
        assert up.stop(signal.SIGINT) == 0
    assert containers() == "", up.log_text()[-2000:]
    networks = docker_engine.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert f"{project}_default" not in networks, up.log_text()[-2000:]
