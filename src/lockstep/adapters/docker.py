"""The docker CLI: build, tag, inspect, push.

Everything goes through the `docker` client on PATH, started like any other process (own
process group, stopped on cancellation). The client negotiates the API version with the
engine by itself (a 28.x client talks to a 20.10 engine at API 1.41); DOCKER_API_VERSION,
when the user sets it, is passed through untouched. BuildKit is used when the client has
buildx; otherwise the classic builder, which cannot do `ssh=` or `secret=`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from lockstep.adapters.build_context import DOCKERFILE_MEMBER
from lockstep.adapters.process import ProcessRunner, ProcessSpec, ProcessStartError, Stream
from lockstep.model.resource import ImageTarget

LogFn = Callable[[str, bool], None]  # (text, is_error)

# How long the engine may take to answer a short request (version, inspect, tag): a daemon
# that accepts the connection and never replies would otherwise hold an update for ever.
ENGINE_TIMEOUT = 20.0

# Tilt's immutable tags: `<ref>:tilt-<first 16 hex digits of the image id>`.
TAG_PREFIX = "tilt-"


class DockerError(Exception):
    """A docker command failed, or a build option cannot be honoured; the message says which."""


def content_tag(image_id: str) -> str:
    hexid = image_id.split(":", 1)[-1]
    if len(hexid) < 16:
        raise DockerError(f"docker returned an unexpected image id {image_id!r}")
    return TAG_PREFIX + hexid[:16]


def repo_of(ref: str) -> str:
    """`ref` without its tag or digest (the part a new tag is attached to)."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref = ref[: len(ref) - len(last) + last.index(":")]
    return ref


def with_tag(ref: str, tag: str) -> str:
    return f"{repo_of(ref)}:{tag}"


def build_argv(img: ImageTarget, *, buildkit: bool, iidfile: str) -> list[str]:
    """`docker build` arguments for a docker_build, reading the context tar from stdin."""
    if not buildkit and (img.ssh or img.secrets):
        which = "ssh=" if img.ssh else "secret="
        raise DockerError(
            f"docker_build('{img.ref}', {which}...) needs BuildKit, and this docker client has only the "
            "classic builder: install docker-buildx (or drop the option)")
    argv = ["docker", "build", "-f", DOCKERFILE_MEMBER, "--iidfile", iidfile]
    for key, value in img.build_args:
        argv += ["--build-arg", f"{key}={value}"]
    if img.target:
        argv += ["--target", img.target]
    if img.platform:
        argv += ["--platform", img.platform]
    if img.network:
        argv += ["--network", img.network]
    for h in img.extra_hosts:
        argv += ["--add-host", h]
    for s in img.ssh:
        argv += ["--ssh", s]
    for s in img.secrets:
        argv += ["--secret", s]
    for c in img.cache_from:
        argv += ["--cache-from", c]
    if img.pull:
        argv.append("--pull")
    if buildkit:
        argv += ["--progress", "plain"]
    argv.append("-")
    return argv


@dataclass
class DockerCli:
    processes: ProcessRunner
    env: tuple[tuple[str, str], ...] = ()
    _buildkit: bool | None = field(default=None, init=False)

    async def run(self, argv: list[str], log: LogFn | None, *, cwd: str = "", stdin_path: str = "",
                  env: tuple[tuple[str, str], ...] = (), timeout: float | None = None) -> tuple[int, list[str]]:
        """Run a command to completion; (exit code, its output lines). DockerError when it
        runs longer than `timeout` seconds (it is stopped)."""
        lines: list[str] = []

        def on_line(line: str, stream: Stream) -> None:
            lines.append(line)
            if log is not None:
                log(line, stream is Stream.STDERR)

        if stdin_path:
            if shutil.which(argv[0]) is None:
                raise DockerError(f"cannot run docker: command not found: {argv[0]}")
            # The process adapter gives children no stdin; a tiny shell redirects it.
            argv = ["sh", "-c", 'exec "$@" < "$0"', stdin_path, *argv]
        try:
            handle = await self.processes.start(
                ProcessSpec(tuple(argv), cwd or os.getcwd(), (*self.env, *env)), on_line)
        except ProcessStartError as exc:
            raise DockerError(f"cannot run docker: {exc}") from exc
        try:
            code = await asyncio.wait_for(handle.wait(), timeout)
        except TimeoutError:
            host = dict((*self.env, *env)).get("DOCKER_HOST") or os.environ.get("DOCKER_HOST") or "the default socket"
            raise DockerError(f"the Docker engine ({host}) did not answer `{' '.join(argv)[:160]}` within "
                              f"{timeout:g}s: is the daemon hung? (`docker version` shows whether it answers)"
                              ) from None
        finally:
            await handle.stop()
        return code, lines

    async def ping(self) -> None:
        """Fail fast, with the reason, when the engine cannot be reached or does not answer."""
        code, lines = await self.run(["docker", "version", "--format", "{{.Server.Version}}"], None,
                                     timeout=ENGINE_TIMEOUT)
        if code != 0:
            tail = next((ln for ln in reversed(lines) if ln.strip()), f"exit {code}")
            raise DockerError(f"the Docker engine is not reachable: {tail}")

    async def buildkit(self) -> bool:
        """Whether builds can use BuildKit (the client has buildx). Asked once."""
        if self._buildkit is None:
            try:
                code, _ = await self.run(["docker", "buildx", "version"], None)
            except DockerError:
                code = 1
            self._buildkit = code == 0
        return self._buildkit

    async def build_env(self) -> tuple[tuple[str, str], ...]:
        return (("DOCKER_BUILDKIT", "1" if await self.buildkit() else "0"),)

    async def image_id(self, ref: str) -> str | None:
        code, lines = await self.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], None,
                                     timeout=ENGINE_TIMEOUT)
        return lines[0].strip() if code == 0 and lines else None

    async def tag(self, source: str, target: str, log: LogFn) -> None:
        code, lines = await self.run(["docker", "tag", source, target], None, timeout=ENGINE_TIMEOUT)
        if code != 0:
            raise DockerError(f"docker tag {source} {target} failed: {' '.join(lines)[-300:]}")
        log(f"Tagged {target}", False)

    async def push(self, ref: str, log: LogFn) -> None:
        code, _ = await self.run(["docker", "push", ref], log)
        if code != 0:
            raise DockerError(f"docker push {ref} failed (exit {code})")
