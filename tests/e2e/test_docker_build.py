"""docker_build and custom_build on a real (private) Docker engine.

Each test writes a Tiltfile, evaluates it with the real loader, and runs the image step of the
resource's update as the engine does; the images are then inspected with `docker run`.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dockerd import DockerEngine

from lockstep.adapters.docker import DockerCli
from lockstep.adapters.process import SubprocessRunner
from lockstep.engine.image_runner import DockerImages, ImageBuilder
from lockstep.engine.image_step import ImagesInOrder
from lockstep.engine.k8s_runner import K8sError
from lockstep.model.paths import PathIndex
from lockstep.model.resource import LoadResult
from lockstep.tiltfile.loader import load

pytestmark = pytest.mark.e2e

DEPLOY = "k8s_custom_deploy('app', apply_cmd='true', delete_cmd='true', deps=[], image_deps=['{ref}'])\n"


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def evaluate(root: Path, tiltfile: str) -> LoadResult:
    (root / "Tiltfile").write_text(textwrap.dedent(tiltfile))
    result = load(str(root / "Tiltfile"))
    assert result.ok, [e.render() for e in result.errors]
    return result


@dataclass
class Built:
    ok: bool
    error: str = ""
    images: dict[str, str] = field(default_factory=dict)  # ref -> built ref, in build order


class Runner:
    """The image step of a resource's update, as the engine runs it (the Kubernetes runner's
    `ImagesInOrder` over the docker builder; Compose services use the same builder)."""

    def __init__(self, env: tuple[tuple[str, str], ...] = ()) -> None:
        self.builder = ImageBuilder(DockerCli(SubprocessRunner(), env=env))
        self.step = ImagesInOrder(DockerImages(self.builder))
        self.logs: list[str] = []

    def update(self, result: LoadResult, name: str = "app") -> Built:
        resource = result.resource(name)
        assert resource is not None
        self.logs.clear()

        async def go() -> Built:
            try:
                return Built(True, images=await self.step.build(resource, lambda text, _s: self.logs.append(text)))
            except K8sError as exc:
                return Built(False, str(exc))
        return asyncio.run(go())

    def built(self, outcome: Built, ref: str) -> str:
        assert outcome.ok, f"{outcome.error}\n" + "\n".join(self.logs[-30:])
        return outcome.images[ref]


def test_context_filtering_applies_to_triggers_and_to_the_context_sent(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    write(tmp_path, {
        "ctx/Dockerfile": f"FROM {busybox_image}\nCOPY . /ctx/\n",
        "ctx/.dockerignore": "**/*.log\nsecrets\n",
        "ctx/src/main.txt": "main",
        "ctx/src/gen/out.txt": "generated",
        "ctx/src/debug.log": "log",
        "ctx/secrets/key": "hunter2",
        "ctx/docs/readme.txt": "docs",
    })
    result = evaluate(tmp_path, "docker_build('app', 'ctx', only=['src', 'Dockerfile'], ignore=['src/gen'])\n"
                      + DEPLOY.format(ref="app"))
    runner = Runner()
    ref = runner.built(runner.update(result), "app")
    listing = docker_engine.docker("run", "--rm", ref, "find", "/ctx", "-type", "f").stdout.split()
    assert sorted(listing) == ["/ctx/Dockerfile", "/ctx/src/main.txt"]
    assert docker_engine.cat(ref, "/ctx/src/main.txt") == "main"

    # The same rules decide what triggers a rebuild.
    index = PathIndex(str(tmp_path), result.resources)
    ctx = tmp_path / "ctx"
    assert index.resources_for(str(ctx / "src" / "main.txt")) == {"app"}
    assert index.resources_for(str(ctx / "Dockerfile")) == {"app"}
    for ignored in ("src/gen/out.txt", "src/debug.log", "secrets/key", "docs/readme.txt"):
        assert index.resources_for(str(ctx / ignored)) == frozenset(), ignored


def test_content_derived_tags_are_immutable_and_reused(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    write(tmp_path, {"ctx/Dockerfile": f"FROM {busybox_image}\nCOPY v.txt /v.txt\n", "ctx/v.txt": "one"})
    result = evaluate(tmp_path, "docker_build('myorg/tagged', 'ctx')\n" + DEPLOY.format(ref="myorg/tagged"))
    runner = Runner()
    first = runner.built(runner.update(result), "myorg/tagged")
    image_id = docker_engine.docker("image", "inspect", "--format", "{{.Id}}", first).stdout.strip()
    assert first == "myorg/tagged:tilt-" + image_id.split(":", 1)[1][:16]
    assert runner.built(runner.update(result), "myorg/tagged") == first  # same inputs, same tag
    assert any("inputs unchanged" in line for line in runner.logs)
    # An extra tag added later is applied even though the image itself is reused.
    retagged = evaluate(tmp_path, "docker_build('myorg/tagged', 'ctx', extra_tag='myorg/tagged:latest')\n"
                        + DEPLOY.format(ref="myorg/tagged"))
    assert runner.built(runner.update(retagged), "myorg/tagged") == first
    assert docker_engine.cat("myorg/tagged:latest", "/v.txt") == "one"
    (tmp_path / "ctx" / "v.txt").write_text("two")
    second = runner.built(runner.update(result), "myorg/tagged")
    assert second != first and second.startswith("myorg/tagged:tilt-")
    # The old tag still names the old content: tags are never moved.
    assert docker_engine.cat(first, "/v.txt") == "one" and docker_engine.cat(second, "/v.txt") == "two"


def test_build_options_reach_docker(tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    (tmp_path / "ctx").mkdir()
    dockerfile = (f"FROM {busybox_image} AS dev\nARG GREETING=unset\n"
                  "RUN echo \"$GREETING\" > /greeting && echo dev > /stage && grep -w db /etc/hosts > /hosts\n"
                  "FROM dev AS prod\nRUN echo prod > /stage\n")
    result = evaluate(tmp_path, f"docker_build('opts', 'ctx', dockerfile_contents={dockerfile!r}, "
                      "build_args={'GREETING': 'hello'}, target='dev', extra_tag=['opts:extra', 'other/opts:x'], "
                      f"network='none', cache_from=['{busybox_image}'], platform='linux/amd64', pull=False, "
                      "entrypoint=['/bin/sh'], container_args=['-c', 'true'], match_in_env_vars=True, "
                      "extra_hosts=['db:10.9.8.7'])\n"
                      + DEPLOY.format(ref="opts"))
    runner = Runner()
    ref = runner.built(runner.update(result), "opts")
    assert docker_engine.cat(ref, "/greeting", "/stage") == "hello\ndev\n"
    assert docker_engine.cat("opts:extra", "/stage") == "dev\n"
    assert docker_engine.cat(ref, "/hosts").split() == ["10.9.8.7", "db"]
    assert docker_engine.cat("other/opts:x", "/stage") == "dev\n"
    img = result.images[0]
    # Deploy-time options are recorded for the deploy step.
    assert img.entrypoint == ("/bin/sh",) and img.container_args == ("-c", "true") and img.match_in_env_vars


def test_a_secret_mount_builds_with_buildkit(tmp_path: Path, docker_engine: DockerEngine,
                                             busybox_image: str) -> None:
    # The engine (20.10) has BuildKit; the client on PATH may lack buildx: lockstep finds a
    # client that builds with it (Debian's 20.10 client has it built in).
    write(tmp_path, {"ctx/Dockerfile": f"FROM {busybox_image}\n"
                     "RUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = hunter2 "
                     "&& echo checked > /checked\n",
                     "tok.txt": "hunter2"})
    # src= is relative to the Tiltfile, as every path in it.
    result = evaluate(tmp_path, "docker_build('sec', 'ctx', secret=['id=tok,src=tok.txt'])\n"
                      + DEPLOY.format(ref="sec"))
    runner = Runner()
    builder = asyncio.run(runner.builder.cli.builder())
    assert builder.buildkit, f"no docker client here builds with BuildKit: {builder.why}"
    ref = runner.built(runner.update(result), "sec")
    assert docker_engine.cat(ref, "/checked") == "checked\n"
    assert "with BuildKit" in "\n".join(runner.logs) and any(
        line == "Image sec built with BuildKit" for line in runner.logs)
    # The secret was mounted for the RUN only: the image does not hold it.
    assert docker_engine.docker("run", "--rm", ref, "ls", "/run/secrets/tok", check=False).returncode != 0

    # A wrong secret fails the build, so the check above is real (a changed RUN line: BuildKit
    # does not count secrets in its cache key).
    (tmp_path / "tok.txt").write_text("wrong")
    (tmp_path / "ctx" / "Dockerfile").write_text((tmp_path / "ctx" / "Dockerfile").read_text().replace(
        "checked >", "checked-again >"))
    outcome = Runner().update(result)
    assert not outcome.ok and "docker build of sec failed" in outcome.error


def test_an_ssh_mount_builds_with_buildkit(tmp_path: Path, docker_engine: DockerEngine,
                                           busybox_image: str) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed (Debian: openssh-client)")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "key")], check=True)
    # The RUN sees an agent socket only when the key reached the build through --ssh.
    write(tmp_path, {"ctx/Dockerfile": f"FROM {busybox_image}\n"
                     "RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo agent > /agent\n"})
    result = evaluate(tmp_path, "docker_build('withssh', 'ctx', ssh='default=key')\n" + DEPLOY.format(ref="withssh"))
    runner = Runner()
    ref = runner.built(runner.update(result), "withssh")
    assert docker_engine.cat(ref, "/agent") == "agent\n"
    assert "Image withssh built with BuildKit" in runner.logs


def test_ssh_and_secret_are_refused_by_the_classic_builder(tmp_path: Path, docker_engine: DockerEngine,
                                                           busybox_image: str) -> None:
    write(tmp_path, {"ctx/Dockerfile": f"FROM {busybox_image}\nCOPY v.txt /v.txt\n", "ctx/v.txt": "x"})
    result = evaluate(tmp_path, "docker_build('sec', 'ctx', secret=['id=tok,src=tok.txt'])\n"
                      "docker_build('plain', 'ctx')\n" + DEPLOY.format(ref="sec")
                      + DEPLOY.format(ref="plain").replace("'app'", "'app2'"))
    runner = Runner(env=(("DOCKER_BUILDKIT", "0"),))  # the user's choice: the classic builder
    outcome = runner.update(result)
    assert not outcome.ok and "needs BuildKit" in outcome.error and "secret=" in outcome.error
    ref = runner.built(runner.update(result, "app2"), "plain")
    assert docker_engine.cat(ref, "/v.txt") == "x"
    assert "Image plain built with classic builder" in runner.logs


def test_an_image_built_from_another_rebuilds_after_it(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    write(tmp_path, {
        "base/Dockerfile": f"FROM {busybox_image}\nCOPY base.txt /base.txt\n",
        "base/base.txt": "base-1",
        "app/Dockerfile": "FROM lockstep/base\nCOPY app.txt /app.txt\n",
        "app/app.txt": "app-1",
    })
    result = evaluate(tmp_path, "docker_build('lockstep/app', 'app')\ndocker_build('lockstep/base', 'base')\n"
                      + DEPLOY.format(ref="lockstep/app"))
    app = result.resource("app")
    assert app is not None and [i.ref for i in app.images] == ["lockstep/base", "lockstep/app"]
    # The base's files trigger the resource that deploys the image built from it.
    assert PathIndex(str(tmp_path), result.resources).resources_for(str(tmp_path / "base" / "base.txt")) == {"app"}
    runner = Runner()
    outcome = runner.update(result)
    first_base, first_app = runner.built(outcome, "lockstep/base"), runner.built(outcome, "lockstep/app")
    assert list(outcome.images) == ["lockstep/base", "lockstep/app"]
    assert docker_engine.cat(first_app, "/base.txt", "/app.txt") == "base-1app-1"
    (tmp_path / "base" / "base.txt").write_text("base-2")
    outcome = runner.update(result)
    base, app_ref = runner.built(outcome, "lockstep/base"), runner.built(outcome, "lockstep/app")
    assert base != first_base and app_ref != first_app
    assert docker_engine.cat(app_ref, "/base.txt", "/app.txt") == "base-2app-1"
    # No `lockstep/base:latest` exists: the app was built on the base's fresh immutable tag.
    assert docker_engine.tags("lockstep/base") == sorted([first_base, base])


def test_custom_build(tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    write(tmp_path, {"ctx/Dockerfile": f"FROM {busybox_image}\nCOPY v.txt /v.txt\n", "ctx/v.txt": "custom",
                     "watched/a.txt": "a", "watched/skip.tmp2": "x"})
    result = evaluate(tmp_path, """
        custom_build('cb/plain', 'docker build -t $EXPECTED_REF ctx', deps=['watched'], ignore=['watched/*.tmp2'])
        custom_build('cb/tagged', 'docker build -t $EXPECTED_REF ctx && echo "$MSG" > msg.txt', deps=['ctx'],
                     tag='v1', env={'MSG': 'hi'}, disable_push=True)
        custom_build('cb/out', 'docker build -t cb/out:mine ctx && echo cb/out:mine > ref.txt', deps=['ctx'],
                     outputs_image_ref_to='ref.txt')
        custom_build('cb/remote', 'echo "would build $EXPECTED_REF remotely"', deps=['ctx'], skips_local_docker=True)
        custom_build('cb/child', 'echo "FROM $TILT_IMAGE_0" | docker build -t $EXPECTED_REF -', deps=['ctx'],
                     image_deps=['cb/plain'])
        k8s_custom_deploy('app', apply_cmd='true', delete_cmd='true', deps=[],
                          image_deps=['cb/tagged', 'cb/out', 'cb/remote', 'cb/child'])
    """)
    app = result.resource("app")
    assert app is not None and [i.ref for i in app.images] == ["cb/tagged", "cb/out", "cb/remote", "cb/plain",
                                                               "cb/child"]
    index = PathIndex(str(tmp_path), result.resources)
    assert index.resources_for(str(tmp_path / "watched" / "a.txt")) == {"app"}
    assert index.resources_for(str(tmp_path / "watched" / "skip.tmp2")) == frozenset()
    runner = Runner()
    outcome = runner.update(result)
    out = {k: runner.built(outcome, k) for k in ("cb/plain", "cb/tagged", "cb/out", "cb/remote", "cb/child")}
    assert out["cb/tagged"] == "cb/tagged:v1" and (tmp_path / "msg.txt").read_text() == "hi\n"
    assert out["cb/out"] == "cb/out:mine"
    assert out["cb/remote"].startswith("cb/remote:tilt-build-")
    assert any("would build cb/remote:tilt-build-" in line for line in runner.logs)
    assert out["cb/plain"].startswith("cb/plain:tilt-") and "build" not in out["cb/plain"]
    assert docker_engine.cat(out["cb/child"], "/v.txt") == "custom"  # built FROM the fresh cb/plain


def test_build_failures_are_clear(tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    write(tmp_path, {"ctx/Dockerfile": f"FROM {busybox_image}\nRUN exit 3\n"})
    result = evaluate(tmp_path, "docker_build('bad', 'ctx')\n"
                      "custom_build('lazy', 'true', deps=['ctx'])\n"
                      "k8s_custom_deploy('app', apply_cmd='true', delete_cmd='true', deps=[], image_deps=['bad'])\n"
                      "k8s_custom_deploy('app2', apply_cmd='true', delete_cmd='true', deps=[], image_deps=['lazy'])\n")
    runner = Runner()
    outcome = runner.update(result)
    assert not outcome.ok and "docker build of bad failed" in outcome.error
    outcome = runner.update(result, "app2")
    assert not outcome.ok and "no image lazy:tilt-build-" in outcome.error and "$EXPECTED_REF" in outcome.error


def test_base_images_are_substituted_by_tag(tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    # One repository built under two tags: `FROM app:v1` and `COPY --from=app:v2` must each
    # get their own build, not whichever `app` was built last.
    write(tmp_path, {
        "v1/Dockerfile": f"FROM {busybox_image}\nCOPY which.txt /which.txt\n",
        "v1/which.txt": "v1",
        "v2/Dockerfile": f"FROM {busybox_image}\nCOPY which.txt /which.txt\n",
        "v2/which.txt": "v2",
        "web/Dockerfile": "FROM app:v1\nCOPY --from=app:v2 /which.txt /from-v2.txt\n",
    })
    result = evaluate(tmp_path, "docker_build('app:v1', 'v1')\ndocker_build('app:v2', 'v2')\n"
                      "docker_build('web', 'web')\n" + DEPLOY.format(ref="web"))
    app = result.resource("app")
    assert app is not None and [i.ref for i in app.images] == ["app:v1", "app:v2", "web"]
    runner = Runner()
    outcome = runner.update(result)
    web = runner.built(outcome, "web")
    assert docker_engine.cat(web, "/which.txt", "/from-v2.txt") == "v1v2"
