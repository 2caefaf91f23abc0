"""docker CLI argument building and tag arithmetic (no engine needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lockstep.adapters.build_context import DOCKERFILE_MEMBER
from lockstep.adapters.docker import (
    Builder,
    BuilderKind,
    DockerCli,
    DockerError,
    build_argv,
    content_tag,
    repo_of,
    with_tag,
)
from lockstep.adapters.fakes import FakeProcessRunner, FakeRun
from lockstep.adapters.process import ProcessSpec
from lockstep.model.resource import ImageTarget


def test_build_argv_carries_every_build_option() -> None:
    img = ImageTarget(ref="app", context="/c", build_args=(("A", "1"), ("B", "x y")), target="dev",
                      platform="linux/arm64", network="host", cache_from=("app:cache", "base:1"), pull=True,
                      extra_hosts=("db:10.0.0.2",))
    argv = build_argv(img, buildkit=False, iidfile="/t/iid")
    assert argv == ["docker", "build", "-f", DOCKERFILE_MEMBER, "--iidfile", "/t/iid",
                    "--build-arg", "A=1", "--build-arg", "B=x y", "--target", "dev", "--platform", "linux/arm64",
                    "--network", "host", "--add-host", "db:10.0.0.2",
                    "--cache-from", "app:cache", "--cache-from", "base:1", "--pull", "-"]


def test_ssh_and_secret_go_to_buildkit_and_are_refused_by_the_classic_builder() -> None:
    img = ImageTarget(ref="app", ssh=("default",), secrets=("id=npm,src=.npmrc",))
    argv = build_argv(img, buildkit=True, iidfile="/t/iid")
    assert argv[-7:] == ["--ssh", "default", "--secret", "id=npm,src=.npmrc", "--progress", "plain", "-"]
    with pytest.raises(DockerError, match=r"needs BuildKit.*install docker-buildx"):
        build_argv(img, buildkit=False, iidfile="/t/iid")


def test_content_tags_follow_tilts_scheme() -> None:
    assert content_tag("sha256:0123456789abcdef0123456789") == "tilt-0123456789abcdef"
    with pytest.raises(DockerError):
        content_tag("sha256:abc")
    assert repo_of("localhost:5000/team/app:v1") == "localhost:5000/team/app"
    assert repo_of("app@sha256:00") == "app"
    assert with_tag("localhost:5000/app", "tilt-1") == "localhost:5000/app:tilt-1"


def _detect(answers: dict[tuple[str, ...], FakeRun], clients: list[str],
            env: tuple[tuple[str, str], ...] = ()) -> tuple[Builder, list[tuple[str, ...]]]:
    """The builder chosen when each command gets its scripted answer (others: not found)."""
    runner = FakeProcessRunner(lambda spec: answers.get(spec.argv, FakeRun(exit_code=127)))
    cli = DockerCli(runner, env=env, clients=lambda: clients)

    async def twice() -> Builder:
        first = await cli.builder()
        assert await cli.builder() is first  # asked once
        return first
    return asyncio.run(twice()), [s.argv for s in runner.started]


SERVER = ("docker", "version", "--format", "{{.Server.Version}}")
BUILDX = ("docker", "buildx", "version")


def _client(path: str) -> tuple[str, ...]:
    return (path, "version", "--format", "{{.Client.Version}}")


def test_buildkit_through_buildx_when_the_client_has_it() -> None:
    b, _ = _detect({SERVER: FakeRun(lines=["20.10.24+dfsg1"]), BUILDX: FakeRun()}, ["/usr/local/bin/docker"])
    assert b == Builder(BuilderKind.BUILDKIT, "docker", "docker buildx") and b.env == (("DOCKER_BUILDKIT", "1"),)


def test_buildkit_through_an_older_client_without_buildx() -> None:
    # A 28.x client without buildx cannot; Debian's 20.10 client next to it can.
    b, started = _detect({SERVER: FakeRun(lines=["20.10.24+dfsg1"]), BUILDX: FakeRun(exit_code=1),
                          _client("/usr/local/bin/docker"): FakeRun(lines=["28.2.2"]),
                          _client("/usr/bin/docker"): FakeRun(lines=["20.10.24+dfsg1"])},
                         ["/usr/local/bin/docker", "/usr/bin/docker"])
    assert b.kind is BuilderKind.BUILDKIT and b.client == "/usr/bin/docker" and "20.10.24" in b.why
    assert started[-1] == _client("/usr/bin/docker")
    img = ImageTarget(ref="app", secrets=("id=npm,src=.npmrc",))
    assert build_argv(img, buildkit=b.buildkit, iidfile="/t/iid", client=b.client)[:2] == ["/usr/bin/docker", "build"]


def test_classic_builder_otherwise() -> None:
    only_new = {SERVER: FakeRun(lines=["20.10.24"]), BUILDX: FakeRun(exit_code=1),
                _client("/usr/local/bin/docker"): FakeRun(lines=["28.2.2"])}
    b, _ = _detect(only_new, ["/usr/local/bin/docker"])
    assert b.kind is BuilderKind.CLASSIC and b.env == (("DOCKER_BUILDKIT", "0"),) and "no buildx" in b.why
    # An engine older than BuildKit, even with buildx.
    b, _ = _detect({SERVER: FakeRun(lines=["18.06.1-ce"]), BUILDX: FakeRun()}, [])
    assert b.kind is BuilderKind.CLASSIC and "predates BuildKit" in b.why
    # The user's DOCKER_BUILDKIT=0 wins, and nothing is asked.
    b, started = _detect({BUILDX: FakeRun()}, [], env=(("DOCKER_BUILDKIT", "0"),))
    assert b.kind is BuilderKind.CLASSIC and started == []


def test_the_context_tar_is_fed_on_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docker").write_text("#!/bin/sh\n")
    (tmp_path / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))  # a docker client exists (the fake runs nothing)
    runner = FakeProcessRunner(lambda spec: FakeRun(lines=["Successfully built"]))
    code, lines = asyncio.run(DockerCli(runner).run(["docker", "build", "-"], None, stdin_path="/t/ctx.tar",
                                                    cwd="/w"))
    assert code == 0 and lines == ["Successfully built"]
    spec: ProcessSpec = runner.started[0]
    assert spec.argv == ("sh", "-c", 'exec "$@" < "$0"', "/t/ctx.tar", "docker", "build", "-") and spec.cwd == "/w"
