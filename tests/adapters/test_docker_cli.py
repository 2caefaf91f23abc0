"""docker CLI argument building and tag arithmetic (no engine needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lockstep.adapters.build_context import DOCKERFILE_MEMBER
from lockstep.adapters.docker import DockerCli, DockerError, build_argv, content_tag, repo_of, with_tag
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
    with pytest.raises(DockerError, match=r"needs BuildKit.*docker-buildx"):
        build_argv(img, buildkit=False, iidfile="/t/iid")


def test_content_tags_follow_tilts_scheme() -> None:
    assert content_tag("sha256:0123456789abcdef0123456789") == "tilt-0123456789abcdef"
    with pytest.raises(DockerError):
        content_tag("sha256:abc")
    assert repo_of("localhost:5000/team/app:v1") == "localhost:5000/team/app"
    assert repo_of("app@sha256:00") == "app"
    assert with_tag("localhost:5000/app", "tilt-1") == "localhost:5000/app:tilt-1"


def test_buildkit_is_detected_once_from_buildx() -> None:
    for has_buildx in (True, False):
        runner = FakeProcessRunner(lambda spec, ok=has_buildx: FakeRun(exit_code=0 if ok else 125))
        cli = DockerCli(runner)

        async def twice(cli: DockerCli = cli) -> tuple[bool, bool, tuple[tuple[str, str], ...]]:
            return await cli.buildkit(), await cli.buildkit(), await cli.build_env()
        first, second, env = asyncio.run(twice())
        assert first is second is has_buildx
        assert env == (("DOCKER_BUILDKIT", "1" if has_buildx else "0"),)
        assert [s.argv for s in runner.started] == [("docker", "buildx", "version")]


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
