"""Running kubectl (and kind, docker, helm) for the Kubernetes runner and runtime.

Every command goes through the ProcessRunner, so it gets lockstep's process-group, parent-death
and reaper treatment like any other child. YAML goes to kubectl in a private temporary file
(`-f FILE`): the process adapter has no stdin, and a file also leaves the exact input on disk
while the command runs. `kubectl get --watch -o json` prints one JSON document after another;
`JsonStream` cuts that stream into documents.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lockstep.adapters.process import ProcessHandle, ProcessRunner, ProcessSpec, ProcessStartError, Stream

LogFn = Callable[[str, Stream], None]


class ToolMissing(Exception):
    def __init__(self, tool: str, why: str) -> None:
        super().__init__(f"`{tool}` is not installed (or not on PATH): it is needed to {why}. "
                         f"Install {tool}, or remove the Kubernetes resources from the Tiltfile")
        self.tool = tool


def require(tool: str, why: str, path: str | None = None) -> None:
    if shutil.which(tool, path=path) is None:
        raise ToolMissing(tool, why)


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else None


class Cli:
    """Runs one command to completion, capturing its output (and echoing it to `log`)."""

    def __init__(self, processes: ProcessRunner, cwd: str = "", env: tuple[tuple[str, str], ...] = ()) -> None:
        self.processes = processes
        self.cwd = cwd or os.getcwd()
        self.env = env

    async def run(self, argv: Sequence[str], log: LogFn | None = None, *, echo: bool = False,
                  cwd: str = "", env: tuple[tuple[str, str], ...] = (), stdin_path: str = "") -> Result:
        out: list[str] = []
        err: list[str] = []

        def sink(text: str, stream: Stream) -> None:
            (err if stream is Stream.STDERR else out).append(text)
            if log is not None and (echo or stream is Stream.STDERR):
                log(text, stream)

        if stdin_path:
            # The process adapter gives children no stdin; a tiny shell redirects it from the file.
            argv = ["sh", "-c", 'exec "$@" < "$0"', stdin_path, *argv]
        try:
            handle = await self.processes.start(ProcessSpec(tuple(argv), cwd or self.cwd, self.env + env), sink)
        except ProcessStartError as exc:
            return Result(127, "", str(exc))
        try:
            code = await handle.wait()
        finally:
            await handle.stop()
        return Result(code, "\n".join(out), "\n".join(err))

    async def start(self, argv: Sequence[str], on_line: LogFn) -> ProcessHandle:
        return await self.processes.start(ProcessSpec(tuple(argv), self.cwd, self.env), on_line)

    async def run_with_file(self, argv: Sequence[str], text: str, log: LogFn | None = None) -> Result:
        """`argv` with its `-f -` pointed at a private file holding `text`."""
        tmp = tempfile.mkdtemp(prefix="lockstep-k8s-")
        try:
            path = os.path.join(tmp, "objects.yaml")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            args = list(argv)
            args[len(args) - 1 - args[::-1].index("-")] = path
            return await self.run(args, log)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class JsonStream:
    """Documents from a stream of pretty-printed JSON values, fed line by line."""

    def __init__(self) -> None:
        self._buf = ""
        self._decoder = json.JSONDecoder()

    def feed(self, line: str) -> list[Any]:
        self._buf += line + "\n"
        docs: list[Any] = []
        while True:
            text = self._buf.lstrip()
            if not text:
                self._buf = ""
                return docs
            try:
                doc, end = self._decoder.raw_decode(text)
            except ValueError:
                self._buf = text
                if len(text) > 16 * 1024 * 1024:  # a value that never closes: drop it
                    self._buf = ""
                return docs
            docs.append(doc)
            self._buf = text[end:]
