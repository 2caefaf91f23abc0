"""Compose services whose `up` failed are retried when their project is edited outside their
own definitions (a top-level section), without a manual trigger; a service's env_file is part
of its definition; a service that runs is not recreated by another's edit."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from dockerd import DockerEngine, compose_available
from upproc import Up, wait_until

from lockstep.engine.checker import check_history
from lockstep.model.update import ReasonKind, UpdateResult

pytestmark = pytest.mark.e2e


def test_a_failed_service_is_retried_when_the_project_is_fixed(tmp_path: Path, docker_engine: DockerEngine,
                                                               busybox_image: str) -> None:
    compose_available(docker_engine)
    project = "lsretry" + uuid.uuid4().hex[:6]
    services = textwrap.dedent(f"""
        version: "2.4"
        services:
          steady:
            image: {busybox_image}
            command: ["sleep", "3600"]
            init: true
          web:
            image: {busybox_image}
            command: ["sh", "-c", "echo mode=$$MODE; exec sleep 3600"]
            init: true
            env_file: web.env
            networks: [back]
    """)
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(services)  # `back` is not declared: web's `up` fails
    (tmp_path / "web.env").write_text("MODE=one\n")

    def container(service: str) -> list[str]:
        out = docker_engine.docker("ps", "--filter", f"label=com.docker.compose.project={project}", "--filter",
                                   f"label=com.docker.compose.service={service}", "--format", "{{.ID}}")
        return out.stdout.split()

    (tmp_path / "Tiltfile").write_text(f"docker_compose('docker-compose.yml', project_name='{project}')\n")
    up = Up(tmp_path / "Tiltfile", tmp_path / "state", env=docker_engine.env)
    try:
        def results(name: str) -> list[UpdateResult]:
            return [r.result for r in up.history() if r.resource == name and r.result is not UpdateResult.RUNNING]

        # Compose refuses the whole project: both services fail.
        for name in ("steady", "web"):
            wait_until(lambda n=name: results(n) == [UpdateResult.FAILED], timeout=120, what=f"{name}'s up to fail")

        # The fix is outside either service's own definition: the project's top-level networks.
        compose.write_text(services + "networks:\n  back: {}\n")
        for name in ("steady", "web"):
            wait_until(lambda n=name: results(n) == [UpdateResult.FAILED, UpdateResult.SUCCEEDED], timeout=120,
                       what=f"{name} retried after the edit")
            retry = [r for r in up.history() if r.resource == name][-1]
            assert [r.kind for r in retry.reasons] == [ReasonKind.CONFIG]
        (steady,) = wait_until(lambda: container("steady"), timeout=90, what="steady's container")
        (web,) = wait_until(lambda: container("web"), timeout=90, what="web's container")

        # A service's env_file is part of its definition: an edit recreates it with the new value.
        (tmp_path / "web.env").write_text("MODE=two\n")
        wait_until(lambda: len(results("web")) == 3, timeout=120, what="web redeployed after its env_file changed")
        wait_until(lambda: "mode=two" in docker_engine.docker("logs", *container("web"), check=False).stdout,
                   timeout=60, what="web to run with the new env_file")
        # steady, running, was not touched by web's env_file edit.
        assert container("steady") == [steady]
        assert results("steady") == [UpdateResult.FAILED, UpdateResult.SUCCEEDED]
        assert container("web") != [web]
        assert check_history(up.history()) == []
    finally:
        up.stop()
        docker_engine.docker("rm", "-f", *container("web"), *container("steady"), check=False)
