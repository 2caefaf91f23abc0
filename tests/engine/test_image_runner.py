"""The image runner's pure parts and its failures (the real builds are in tests/e2e)."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
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


def test_an_image_two_resources_need_at_once_is_built_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two Compose services running one docker_build's image (a dev and a prod flavour) update
    # together: the second waits for the first build and reuses it instead of building it again.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    img = image(ctx)

    async def scenario() -> list[str]:
        release = asyncio.Event()

        def behaviour(spec: ProcessSpec) -> FakeRun:
            argv = list(spec.argv)
            if "build" in argv and "--iidfile" in argv:
                Path(argv[argv.index("--iidfile") + 1]).write_text("sha256:" + "ab" * 32)
                return FakeRun(release=release)
            if argv[:3] == ["docker", "buildx", "version"]:
                return FakeRun(exit_code=1)
            if argv[:3] == ["docker", "image", "inspect"]:
                return FakeRun(lines=["sha256:" + "ab" * 32])
            return FakeRun()

        runner = FakeProcessRunner(behaviour)
        builder = ImageBuilder(DockerCli(runner))
        first = asyncio.create_task(builder.build(img, {}, lambda _t, _e: None))
        second = asyncio.create_task(builder.build(img, {}, lambda _t, _e: None))
        for _ in range(50):
            await asyncio.sleep(0)
        release.set()
        refs = await asyncio.gather(first, second)
        builds = [s for s in runner.started if "--iidfile" in s.argv]
        assert len(builds) == 1, [s.argv for s in builds]
        return refs

    refs = asyncio.run(scenario())
    assert refs[0] == refs[1] and refs[0].startswith("app:tilt-")


def test_compose_override_files_are_private_never_at_a_fixed_tmp_path(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Another user could create /tmp/lockstep-compose-<uid> first, with a symlink in it: the
    # override (which names the image the service runs) must not be written through it.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    planted = tmp_path / f"lockstep-compose-{os.getuid()}"
    planted.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (planted / "proj-app.json").symlink_to(victim)
    runner = FakeProcessRunner(lambda spec: FakeRun())
    compose = Compose(DockerCli(runner))
    resource = Resource("app", ResourceKind.COMPOSE,
                        compose=ComposeSpec((str(tmp_path / "docker-compose.yml"),), "app", ("app",), "proj"))
    outcome = asyncio.run(compose.deploy(resource, {"app": "app:tilt-1"}, lambda _t, _e: None, Outputs()))
    assert outcome.ok, outcome.error
    assert victim.read_text() == "precious"
    up = next(s.argv for s in runner.started if "up" in s.argv)
    override = Path(up[up.index("up") - 1])
    assert override.name == "proj-app.json" and override.parent != planted
    assert (override.parent.stat().st_mode & 0o077) == 0 and "app:tilt-1" in override.read_text()


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
