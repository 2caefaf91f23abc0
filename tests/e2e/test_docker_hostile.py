"""Containers under hostile conditions, with the real `lockstep ci`: an engine that accepts the
connection and never answers, a Compose service whose start fails. Each ends in a clear failure
in bounded time, and leaves nothing of the project behind."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from dockerd import DockerEngine, compose_available, make_busybox_image, private_dockerd
from petstore_support import free_port
from upproc import VENV_BIN, Up, wait_until

pytestmark = pytest.mark.e2e


def ci(tmp_path: Path, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    done = subprocess.run([f"{VENV_BIN}/lockstep", "ci", "-f", str(tmp_path / "Tiltfile"), "--timeout", "120s"],
                          cwd=tmp_path, env={**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state"),
                                             **(env or {})},
                          capture_output=True, text=True, timeout=180, check=False)
    return done, time.monotonic() - start


def test_an_engine_that_never_answers_fails_the_build_with_the_reason(tmp_path: Path) -> None:
    # A socket that accepts connections and never says anything: a hung daemon.
    path = tmp_path / "mute.sock"
    mute = socket.socket(socket.AF_UNIX)
    mute.bind(str(path))
    mute.listen(64)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: hostile-web\n")
    (tmp_path / "Tiltfile").write_text("docker_build('hostile-web', 'app')\ndocker_compose('docker-compose.yml')\n")
    try:
        done, took = ci(tmp_path, {"DOCKER_HOST": f"unix://{path}"})
    finally:
        mute.close()
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert (f"the Docker engine (unix://{path}) did not answer `docker version --format "
            "{{.Server.Version}}` within 20s: is the daemon hung?") in out, out
    assert "Traceback" not in out
    assert took < 90, f"ci took {took:.0f}s"


def test_a_service_that_cannot_start_fails_clearly_and_leaves_no_container_or_network(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    compose_available(docker_engine)
    port = free_port()
    taken = socket.socket()
    taken.bind(("127.0.0.1", port))
    taken.listen(1)
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        services:
          web:
            image: {busybox_image}
            command: ["sleep", "3600"]
            init: true
            ports: ["127.0.0.1:{port}:80"]
    """))
    (tmp_path / "Tiltfile").write_text("docker_compose('docker-compose.yml', project_name='ls-taken')\n")
    try:
        done, _ = ci(tmp_path)
    finally:
        taken.close()
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "address already in use" in out, out
    left = docker_engine.docker("ps", "-a", "--filter", "label=com.docker.compose.project=ls-taken", "-q").stdout
    assert left == "", f"a container of the failed start was left: {left}"
    networks = docker_engine.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert "ls-taken_default" not in networks, networks


def test_an_unreadable_file_in_the_context_fails_the_build_naming_it(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs util-linux's setpriv to drop the capability that lets root read anything")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY . /app/\n")
    (tmp_path / "app" / "secret.key").write_text("k")
    (tmp_path / "app" / "secret.key").chmod(0)
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: hostile-unreadable\n")
    (tmp_path / "Tiltfile").write_text("docker_build('hostile-unreadable', 'app')\n"
                                       "docker_compose('docker-compose.yml')\n")
    # Root reads any file; without CAP_DAC_OVERRIDE/DAC_READ_SEARCH it is held to the mode bits, as a user is.
    start = time.monotonic()
    done = subprocess.run([setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search",
                           f"{VENV_BIN}/lockstep", "ci", "-f", str(tmp_path / "Tiltfile"), "--timeout", "60s"],
                          cwd=tmp_path, env={**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")},
                          capture_output=True, text=True, timeout=120, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert ("docker_build('hostile-unreadable'): cannot read secret.key in the build context "
            f"{tmp_path / 'app'}: Permission denied; make it readable, or leave it out of the context") in out, out
    assert "internal error" not in out
    assert time.monotonic() - start < 60


def _kill_daemon_when(tmp_path: Path, engine: DockerEngine, seen: str) -> tuple[str, float]:
    """Run `lockstep ci`; kill -9 the engine once its output shows `seen`; (output, seconds after the kill)."""
    log = open(tmp_path / "ci.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([f"{VENV_BIN}/lockstep", "ci", "-f", str(tmp_path / "Tiltfile"), "--timeout", "120s"],
                            cwd=tmp_path, env={**os.environ, **engine.env,
                                               "LOCKSTEP_STATE_DIR": str(tmp_path / "state")},
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: seen in (tmp_path / "ci.log").read_text(), 90, f"ci to print {seen!r}")
        os.kill(int((engine.root / "dockerd.pid").read_text()), signal.SIGKILL)
        killed = time.monotonic()
        proc.wait(90)
        return (tmp_path / "ci.log").read_text(), time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_the_engine_killed_during_a_build_fails_it_saying_so(tmp_path: Path) -> None:
    with private_dockerd() as engine:
        image = make_busybox_image(engine)
        (tmp_path / "app").mkdir()
        (tmp_path / "app" / "Dockerfile").write_text(f"FROM {image}\nRUN sleep 60\n")
        (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: hostile-killed\n")
        (tmp_path / "Tiltfile").write_text("docker_build('hostile-killed', 'app')\n"
                                           "docker_compose('docker-compose.yml')\n")
        out, took = _kill_daemon_when(tmp_path, engine, "RUN sleep 60")
    assert "docker build of hostile-killed failed (exit " in out, out
    assert "the Docker engine is not reachable: Cannot connect to the Docker daemon" in out, out
    assert "stopped answering during the build" in out
    assert "lockstep ci: failed: web failed" in out
    assert took < 60, f"ci took {took:.0f}s after the engine died"


def test_the_engine_killed_during_a_compose_start_fails_it_saying_so(tmp_path: Path) -> None:
    with private_dockerd() as engine:
        compose_available(engine)
        image = make_busybox_image(engine)
        (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
            services:
              web:
                image: {image}
                command: ["sleep", "3600"]
        """))
        (tmp_path / "Tiltfile").write_text("docker_compose('docker-compose.yml', project_name='ls-killed')\n")
        out, took = _kill_daemon_when(tmp_path, engine, "Running: docker")
    assert "up web exited with code 1: the Docker engine is not reachable" in out, out
    assert "lockstep ci: failed: web failed" in out
    assert "internal error" not in out  # docker-compose v1's own traceback may be in the excerpt: it is its output
    assert took < 60, f"ci took {took:.0f}s after the engine died"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_during_a_compose_start_leaves_no_container_or_network(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str, sig: signal.Signals) -> None:
    compose_available(docker_engine)
    project = f"ls-stop{int(sig)}"
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
        services:
          web:
            image: {busybox_image}
            command: ["sleep", "3600"]
            init: true
    """))
    (tmp_path / "Tiltfile").write_text(f"docker_compose('docker-compose.yml', project_name='{project}')\n")
    with Up(tmp_path / "Tiltfile", tmp_path / "state") as up:
        up.expect("Creating network", timeout=90)
        assert up.stop(sig, timeout=60) == 0
    left = docker_engine.docker("ps", "-a", "--filter", f"label=com.docker.compose.project={project}", "-q").stdout
    networks = docker_engine.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert (left, f"{project}_default" in networks) == ("", False), f"left: {left} {networks}\n{up.log_text()}"
    assert "Cleaning up after the failed start" in up.log_text()


def test_down_stops_up_in_bounded_time_when_the_engine_hangs(tmp_path: Path) -> None:
    with private_dockerd() as engine:
        compose_available(engine)
        image = make_busybox_image(engine)
        (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(f"""
            services:
              web:
                image: {image}
                command: ["sleep", "3600"]
                init: true
        """))
        (tmp_path / "Tiltfile").write_text("docker_compose('docker-compose.yml', project_name='ls-hung')\n")
        env = {**os.environ, **engine.env, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")}
        daemon = int((engine.root / "dockerd.pid").read_text())
        with Up(tmp_path / "Tiltfile", tmp_path / "state", env=engine.env) as up:
            wait_until(lambda: any(r.resource == "web" and r.end for r in up.history()), 90, "web to start")
            os.kill(daemon, signal.SIGSTOP)  # it keeps accepting connections, and answers nothing
            try:
                start = time.monotonic()
                done = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tmp_path / "Tiltfile")],
                                      env=env, capture_output=True, text=True, timeout=90, check=False)
                took = time.monotonic() - start
            finally:
                os.kill(daemon, signal.SIGCONT)
            # `up` stops within down's 30 s; down's own sweep of labelled containers is bounded too.
            assert "lockstep down: stopped pid" in done.stdout, done.stdout + done.stderr
            assert done.returncode == 0 or "timed out after" in done.stdout, done.stdout + done.stderr
            assert took < 60
            assert " down` within 25s: is the daemon hung?" in up.log_text(), up.log_text()[-2000:]
            assert "what it started may still run: `" in up.log_text()
