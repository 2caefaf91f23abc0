"""A running container as a live update sees it: extract a tar, remove paths, run, restart.

`DockerContainer` goes through `docker exec` (Compose services); `PodContainer` through
`kubectl exec` (one container of one pod). The tar goes in on the command's stdin,
`tar -x -C /`, so the container needs a `tar` (busybox's does), as Tilt's needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from lockstep.adapters.docker import DockerCli
from lockstep.adapters.kubectl import Cli
from lockstep.adapters.process import Stream

LogFn = Callable[[str, bool], None]  # (text, is_error)

EXTRACT = ("tar", "-x", "-C", "/")


class Container(Protocol):
    @property
    def label(self) -> str:
        """How the log names it: `web`, `pod/api-7d9f/api`."""

    async def extract(self, tar_path: str, log: LogFn) -> int: ...

    async def remove(self, paths: Sequence[str], log: LogFn) -> int: ...

    async def run(self, argv: Sequence[str], log: LogFn) -> int: ...

    async def restart(self, log: LogFn) -> int: ...


def remove_argv(paths: Sequence[str]) -> list[str]:
    return ["rm", "-rf", "--", *paths]


@dataclass(frozen=True)
class DockerContainer:
    cli: DockerCli
    container: str
    label: str

    def _exec(self, argv: Sequence[str], *, stdin: bool = False) -> list[str]:
        return ["docker", "exec", *(["-i"] if stdin else []), self.container, *argv]

    async def extract(self, tar_path: str, log: LogFn) -> int:
        code, _ = await self.cli.run(self._exec(EXTRACT, stdin=True), log, stdin_path=tar_path)
        return code

    async def remove(self, paths: Sequence[str], log: LogFn) -> int:
        code, _ = await self.cli.run(self._exec(remove_argv(paths)), log)
        return code

    async def run(self, argv: Sequence[str], log: LogFn) -> int:
        code, _ = await self.cli.run(self._exec(argv), log)
        return code

    async def restart(self, log: LogFn) -> int:
        # `docker restart` prints the container id on success: noise in the resource's log,
        # so its output is shown only when it failed.
        code, lines = await self.cli.run(["docker", "restart", self.container], None)
        if code != 0:
            for line in lines:
                log(line, True)
        return code


def kubectl_exec(context: str, namespace: str, pod: str, container: str, argv: Sequence[str], *,
                 stdin: bool = False) -> list[str]:
    base = ["kubectl"] + (["--context", context] if context else [])
    return [*base, "exec", *(["-i"] if stdin else []), "--namespace", namespace or "default", pod,
            "-c", container, "--", *argv]


@dataclass(frozen=True)
class PodContainer:
    cli: Cli
    context: str
    namespace: str
    pod: str
    container: str

    @property
    def label(self) -> str:
        return f"pod/{self.pod}/{self.container}"

    async def _run(self, argv: Sequence[str], log: LogFn, *, stdin_path: str = "") -> int:
        def sink(text: str, stream: Stream) -> None:
            log(text, stream is Stream.STDERR)

        cmd = kubectl_exec(self.context, self.namespace, self.pod, self.container, argv, stdin=bool(stdin_path))
        res = await self.cli.run(cmd, sink, echo=True, stdin_path=stdin_path)
        return res.code

    async def extract(self, tar_path: str, log: LogFn) -> int:
        return await self._run(EXTRACT, log, stdin_path=tar_path)

    async def remove(self, paths: Sequence[str], log: LogFn) -> int:
        return await self._run(remove_argv(paths), log)

    async def run(self, argv: Sequence[str], log: LogFn) -> int:
        return await self._run(argv, log)

    async def restart(self, log: LogFn) -> int:
        # The loader refuses restart_container() for Kubernetes, as Tilt does: never reached.
        log(f"restart_container() is not supported for pods ({self.label})", True)
        return 1
