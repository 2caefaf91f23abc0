"""Compose argument building for v1 and v2, and which one is used (no engine needed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lockstep.adapters import compose as C
from lockstep.adapters.docker import DockerCli, DockerError
from lockstep.adapters.docker_cleanup import Owner
from lockstep.adapters.fakes import FakeProcessRunner, FakeRun
from lockstep.adapters.process import ProcessSpec

FILES = ("/p/docker-compose.yml", "/p/override.yml")


def test_arguments_for_both_versions() -> None:
    assert C.up_argv(C.ComposeFlavor.V2, "shop", FILES, "web") == [
        "docker", "compose", "-p", "shop", "-f", FILES[0], "-f", FILES[1], "up", "-d", "--no-deps", "--no-build", "web"]
    assert C.up_argv(C.ComposeFlavor.V1, "shop", FILES[:1], "web") == [
        "docker-compose", "-p", "shop", "-f", FILES[0], "up", "-d", "--no-deps", "--no-build", "web"]
    assert C.logs_argv(C.ComposeFlavor.V1, "shop", FILES[:1], "db")[-4:] == ["logs", "-f", "--no-color", "db"]
    assert C.ps_argv(C.ComposeFlavor.V2, "shop", FILES[:1], "db")[-3:] == ["ps", "-q", "db"]
    assert C.rm_argv(C.ComposeFlavor.V2, "shop", FILES[:1], "db")[-4:] == ["rm", "-s", "-f", "db"]
    assert C.down_argv(C.ComposeFlavor.V1, "shop", FILES[:1]) == ["docker-compose", "-p", "shop", "-f", FILES[0],
                                                                 "down"]


def test_env_file_goes_before_the_command_in_both_versions() -> None:
    for flavor, head in ((C.ComposeFlavor.V2, ["docker", "compose"]), (C.ComposeFlavor.V1, ["docker-compose"])):
        assert C.up_argv(flavor, "shop", FILES[:1], "web", "/p/dev.env") == [
            *head, "--env-file", "/p/dev.env", "-p", "shop", "-f", FILES[0], "up", "-d", "--no-deps", "--no-build",
            "web"]
        assert C.down_argv(flavor, "shop", FILES[:1], "/p/dev.env")[len(head):len(head) + 2] == [
            "--env-file", "/p/dev.env"]


def test_project_name_is_composes_default() -> None:
    assert C.project_name(("/home/me/My-Shop_2.x/docker-compose.yml",)) == "my-shop_2x"
    assert C.project_name(FILES, explicit="Other") == "other"
    assert C.project_name(()) == "default"


def test_override_substitutes_the_built_image_and_keeps_the_files_version(tmp_path: Path) -> None:
    base = tmp_path / "docker-compose.yml"
    base.write_text('version: "3.8"\nservices:\n  web:\n    build: .\n')
    doc = json.loads(C.override_yaml("web", "app:tilt-0123", str(base)))
    assert doc == {"version": "3.8", "services": {"web": {"image": "app:tilt-0123"}}}
    base.write_text("services:\n  web:\n    build: .\n")
    assert json.loads(C.override_yaml("web", "app:tilt-0123", str(base))) == {
        "services": {"web": {"image": "app:tilt-0123"}}}


def test_override_labels_the_container_as_lockstep_s(tmp_path: Path) -> None:
    owner = Owner("0123456789abcdef", "run1", tmp_path / "state" / "docker-started.json")
    assert json.loads(C.override_yaml("db", "", "", owner.labels)) == {
        "services": {"db": {"labels": {"dev.lockstep.tiltfile": "0123456789abcdef", "dev.lockstep.run": "run1"}}}}
    owner.note_started()  # recorded before the container starts, for `down` and the next `up`
    assert json.loads(owner.record.read_text())["run"] == "run1"  # type: ignore[union-attr]


@pytest.mark.parametrize(("works", "want"), [
    ({"docker compose"}, C.ComposeFlavor.V2),
    ({"docker compose", "docker-compose"}, C.ComposeFlavor.V2),
    ({"docker-compose"}, C.ComposeFlavor.V1),
])
def test_v2_is_preferred_and_v1_is_the_fallback(works: set[str], want: C.ComposeFlavor) -> None:
    def behaviour(spec: ProcessSpec) -> FakeRun:
        name = " ".join(spec.argv[:2]) if spec.argv[0] == "docker" else spec.argv[0]
        if name == "docker-compose" and name not in works:
            return FakeRun(start_error="command not found: docker-compose")
        return FakeRun(exit_code=0 if name in works else 1)
    assert asyncio.run(C.detect(DockerCli(FakeProcessRunner(behaviour)))) is want


def test_no_compose_is_a_clear_error() -> None:
    runner = FakeProcessRunner(lambda spec: FakeRun(exit_code=1))
    with pytest.raises(DockerError, match=r"docker compose.*docker-compose"):
        asyncio.run(C.detect(DockerCli(runner)))
