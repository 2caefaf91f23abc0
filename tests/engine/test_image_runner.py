"""The image runner's pure parts and its routing (the real builds are in tests/e2e)."""

from __future__ import annotations

import asyncio

from lockstep.engine.image_runner import ImageRunner, rewrite_bases
from lockstep.engine.runners import UpdateJob
from lockstep.model.resource import K8sSpec, Resource, ResourceKind


def test_bases_built_here_are_replaced_by_their_fresh_refs() -> None:
    text = "FROM base AS b\nCOPY --from=docker.io/library/tools /t /t\nFROM other\nFROM base:$V\n"
    out = rewrite_bases(text, {"base": "base:tilt-1", "tools:latest": "tools:tilt-2"})
    assert out == "FROM base:tilt-1 AS b\nCOPY --from=tools:tilt-2 /t /t\nFROM other\nFROM base:$V\n"


def test_deploys_this_build_cannot_do_fail_clearly() -> None:
    runner = ImageRunner(None)  # type: ignore[arg-type]  # no image to build: the builder is not used
    outcome = asyncio.run(runner.run(UpdateJob(Resource("k", ResourceKind.K8S, k8s=K8sSpec()), 1), lambda _t, _s: None))
    assert not outcome.ok and outcome.error == "deploying to Kubernetes is not supported by this build yet"


def test_no_docker_client_is_a_clear_failure(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lockstep.adapters.docker import DockerCli
    from lockstep.adapters.fakes import FakeProcessRunner, FakeRun
    from lockstep.engine.image_runner import ImageBuilder
    from lockstep.model.resource import ImageTarget

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    img = ImageTarget(ref="app", context=str(tmp_path), dockerfile=str(tmp_path / "Dockerfile"))
    runner = ImageRunner(ImageBuilder(DockerCli(FakeProcessRunner(
        lambda spec: FakeRun(start_error="command not found: docker")))))
    logs: list[str] = []
    resource = Resource("app", ResourceKind.K8S, images=(img,), k8s=K8sSpec())
    outcome = asyncio.run(runner.run(UpdateJob(resource, 1), lambda text, _stream: logs.append(text)))
    assert not outcome.ok and outcome.error == "cannot run docker: command not found: docker"
