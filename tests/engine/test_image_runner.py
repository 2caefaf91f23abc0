"""The image runner's pure parts and its failures (the real builds are in tests/e2e)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lockstep.adapters.docker import DockerCli
from lockstep.adapters.fakes import FakeProcessRunner, FakeRun
from lockstep.adapters.process import ProcessSpec
from lockstep.engine.compose_runtime import Compose
from lockstep.engine.image_runner import DockerImages, ImageBuilder, ImageRunner, rewrite_bases
from lockstep.engine.k8s_runner import K8sError
from lockstep.engine.runners import UpdateJob
from lockstep.model.resource import ComposeSpec, ImageTarget, Resource, ResourceKind
from lockstep.model.update import Outputs


def test_bases_built_here_are_replaced_by_their_fresh_refs() -> None:
    text = "FROM base AS b\nCOPY --from=docker.io/library/tools /t /t\nFROM other\nFROM base:$V\n"
    out = rewrite_bases(text, {"base": "base:tilt-1", "tools": "tools:tilt-2"})
    assert out == "FROM base:tilt-1 AS b\nCOPY --from=tools:tilt-2 /t /t\nFROM other\nFROM base:$V\n"


def test_bases_are_matched_by_tag_when_the_tiltfile_builds_tags() -> None:
    text = "FROM app:v1\nCOPY --from=app:v2 /a /a\nFROM app\nFROM app:v3\n"
    built = {"app:v1": "app:tilt-1", "app:v2": "app:tilt-2"}
    assert rewrite_bases(text, built) == "FROM app:tilt-1\nCOPY --from=app:tilt-2 /a /a\nFROM app\nFROM app:v3\n"
    # An untagged image matches every tag of its repository, unless the loader made it exact
    # (the same repository built under several tags).
    assert rewrite_bases("FROM app:v9\n", {"app": "app:tilt-3"}) == "FROM app:tilt-3\n"
    assert rewrite_bases("FROM app:v9\n", {"app": "app:tilt-3"}, {"app": True}) == "FROM app:v9\n"


def no_docker() -> DockerCli:
    return DockerCli(FakeProcessRunner(lambda spec: FakeRun(start_error=f"command not found: {spec.argv[0]}")))


def image(tmp_path: Path) -> ImageTarget:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return ImageTarget(ref="app", context=str(tmp_path), dockerfile=str(tmp_path / "Dockerfile"))


def test_no_docker_client_fails_a_compose_update_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker client anywhere
    cli = no_docker()
    runner = ImageRunner(ImageBuilder(cli), Compose(cli))
    resource = Resource("app", ResourceKind.COMPOSE, images=(image(tmp_path),),
                        compose=ComposeSpec((str(tmp_path / "docker-compose.yml"),), "app", ("app",)))
    logs: list[str] = []
    outcome = asyncio.run(runner.run(UpdateJob(resource, 1), lambda text, _stream: logs.append(text)))
    assert not outcome.ok and outcome.error == "cannot run docker: command not found: docker"
    assert logs[-1] == outcome.error


def test_build_failures_reach_the_kubernetes_runner_as_its_own_errors(tmp_path: Path) -> None:
    images = DockerImages(ImageBuilder(no_docker()))
    with pytest.raises(K8sError, match="cannot run docker"):
        asyncio.run(images.build(image(tmp_path), {}, lambda _t, _s: None))


def test_no_compose_fails_clearly(tmp_path: Path) -> None:
    cli = DockerCli(FakeProcessRunner(lambda spec: FakeRun(exit_code=1)))
    runner = ImageRunner(ImageBuilder(cli), Compose(cli))
    resource = Resource("db", ResourceKind.COMPOSE,
                        compose=ComposeSpec((str(tmp_path / "docker-compose.yml"),), "db"))
    outcome = asyncio.run(runner.run(UpdateJob(resource, 1), lambda _t, _s: None))
    assert not outcome.ok and "Docker Compose not found" in outcome.error


def test_a_compose_service_gets_the_build_of_its_exact_tag(tmp_path: Path) -> None:
    started: list[tuple[str, ...]] = []

    def answer(spec: ProcessSpec) -> FakeRun:
        started.append(spec.argv)
        return FakeRun()
    compose = Compose(DockerCli(FakeProcessRunner(answer)))
    (tmp_path / "docker-compose.yml").write_text("services: {web: {image: 'app:v2'}}\n")
    resource = Resource("web", ResourceKind.COMPOSE,
                        images=(ImageTarget("app:v1", match_exact=True), ImageTarget("app:v2", match_exact=True)),
                        compose=ComposeSpec((str(tmp_path / "docker-compose.yml"),), "web", ("app:v2",)))
    outcome = asyncio.run(compose.deploy(resource, {"app:v1": "app:tilt-1", "app:v2": "app:tilt-2"},
                                         lambda _t, _e: None, Outputs()))
    assert outcome.ok
    up = started[-1]
    override = up[up.index("-f", up.index("-f") + 1) + 1]
    assert json.loads(Path(override).read_text())["services"]["web"]["image"] == "app:tilt-2"
