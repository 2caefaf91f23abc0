"""The docker CLI: build, tag, inspect, push.

Everything goes through the `docker` client on PATH, started like any other process (own
process group, stopped on cancellation). The client negotiates the API version with the
engine by itself (a 28.x client talks to a 20.10 engine at API 1.41); DOCKER_API_VERSION,
when the user sets it, is passed through untouched.

Which builder builds (`Builder`, chosen once per run, logged with every build):
- BuildKit through `docker` when it has buildx (since client 23, `DOCKER_BUILDKIT=1 docker
  build` *is* buildx, and fails without it);
- else BuildKit through a docker client older than 23 found on PATH or at /usr/bin/docker
  (Debian's 20.10 client has BuildKit built in and needs no buildx), when the engine is
  18.09 or newer;
- else the classic builder, which cannot do `ssh=` or `secret=`.
DOCKER_BUILDKIT=0 in the environment forces the classic builder, as it does for docker.
"""

from __future__ import annotations

import asyncio
import enum
import os
import re
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


class BuilderKind(enum.Enum):
    BUILDKIT = "BuildKit"
    CLASSIC = "classic builder"


@dataclass(frozen=True)
class Builder:
    kind: BuilderKind
    client: str = "docker"  # the client that runs `build`
    why: str = ""  # how it was chosen (said once in the build log)

    @property
    def buildkit(self) -> bool:
        return self.kind is BuilderKind.BUILDKIT

    @property
    def env(self) -> tuple[tuple[str, str], ...]:
        return (("DOCKER_BUILDKIT", "1" if self.buildkit else "0"),)


# The first client release without BuildKit built into `docker build` (it moved to buildx).
_BUILDX_ONLY_MAJOR = 23
_VERSION = re.compile(r"^(\d+)\.(\d+)")


def _version(text: str) -> tuple[int, int] | None:
    m = _VERSION.match(text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def docker_clients() -> list[str]:
    """Every `docker` executable on PATH, then Debian's /usr/bin/docker, each once."""
    out: list[str] = []
    seen: set[str] = set()
    for d in [*os.environ.get("PATH", "").split(os.pathsep), "/usr/bin"]:
        path = os.path.join(d, "docker") if d else ""
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                out.append(path)
    return out


def build_argv(img: ImageTarget, *, buildkit: bool, iidfile: str, client: str = "docker",
               dockerfile: str = DOCKERFILE_MEMBER, context: str = "-") -> list[str]:
    """`docker build` arguments for a docker_build: by default the context tar comes on stdin
    with the Dockerfile inside it (the classic builder); BuildKit is given a directory."""
    if not buildkit and (img.ssh or img.secrets):
        which = "ssh=" if img.ssh else "secret="
        raise DockerError(
            f"docker_build('{img.ref}', {which}...) needs BuildKit, and no docker client here builds with it "
            "(the engine must be 18.09 or newer, and the client have buildx or be older than 23): "
            "install docker-buildx, or drop the option")
    argv = [client, "build", "-f", dockerfile, "--iidfile", iidfile]
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
    argv.append(context)
    return argv


@dataclass
class DockerCli:
    processes: ProcessRunner
    env: tuple[tuple[str, str], ...] = ()
    # Where to look for a client that builds with BuildKit (a seam for the tests).
    clients: Callable[[], list[str]] = docker_clients
    _builder: Builder | None = field(default=None, init=False)

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

    async def builder(self) -> Builder:
        """The builder images are built with; decided once (see the module docstring)."""
        if self._builder is None:
            self._builder = await self._choose_builder()
        return self._builder

    async def buildkit(self) -> bool:
        return (await self.builder()).buildkit

    async def build_env(self) -> tuple[tuple[str, str], ...]:
        return (await self.builder()).env

    async def _first_line(self, argv: list[str]) -> tuple[int, str]:
        try:
            code, lines = await self.run(argv, None, timeout=ENGINE_TIMEOUT)
        except DockerError:
            return 127, ""
        return code, next((ln.strip() for ln in lines if ln.strip()), "")

    async def _choose_builder(self) -> Builder:
        if dict(self.env).get("DOCKER_BUILDKIT", os.environ.get("DOCKER_BUILDKIT", "")).strip() in ("0", "false"):
            return Builder(BuilderKind.CLASSIC, why="DOCKER_BUILDKIT=0 is set")
        code, server = await self._first_line(["docker", "version", "--format", "{{.Server.Version}}"])
        engine = _version(server) if code == 0 else None
        if engine is not None and engine < (18, 9):
            return Builder(BuilderKind.CLASSIC, why=f"the engine ({server}) predates BuildKit")
        code, _ = await self._first_line(["docker", "buildx", "version"])
        if code == 0:
            return Builder(BuilderKind.BUILDKIT, "docker", "docker buildx")
        for client in self.clients():
            _, text = await self._first_line([client, "version", "--format", "{{.Client.Version}}"])
            version = _version(text)
            if version is not None and version[0] < _BUILDX_ONLY_MAJOR:
                return Builder(BuilderKind.BUILDKIT, client, f"{client} {text} builds with DOCKER_BUILDKIT=1")
        return Builder(BuilderKind.CLASSIC, why="no buildx, and no docker client older than 23 (with BuildKit "
                                                 "built in) was found")

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
