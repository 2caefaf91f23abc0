"""Running kubectl (and kind, docker, helm) for the Kubernetes runner and runtime.

Every command goes through the ProcessRunner, so it gets lockstep's process-group, parent-death
and reaper treatment like any other child. YAML goes to kubectl in a private temporary file
(`-f FILE`): the process adapter has no stdin, and a file also leaves the exact input on disk
while the command runs. `kubectl get --watch -o json` prints one JSON document after another;
`JsonStream` cuts that stream into documents.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lockstep.adapters import scratch
from lockstep.adapters.process import ProcessHandle, ProcessRunner, ProcessSpec, ProcessStartError, Stream

LogFn = Callable[[str, Stream], None]

# The exit code `Cli.run` reports for a command stopped because it did not finish in time
# (as coreutils' `timeout` does).
TIMED_OUT = 124


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
                  cwd: str = "", env: tuple[tuple[str, str], ...] = (), stdin_path: str = "",
                  timeout: float | None = None) -> Result:
        """`timeout`: a kubectl that never answers (an API server that accepts the connection
        and then says nothing) is stopped after that many seconds, with exit code TIMED_OUT
        and the reason on stderr, instead of holding the update for ever."""
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
            code = await asyncio.wait_for(handle.wait(), timeout)
        except TimeoutError:
            code = TIMED_OUT
            err.append(f"`{' '.join(argv[:4])}` got no answer within {timeout:g}s and was stopped")
        finally:
            await handle.stop()
        return Result(code, "\n".join(out), "\n".join(err))

    async def start(self, argv: Sequence[str], on_line: LogFn) -> ProcessHandle:
        return await self.processes.start(ProcessSpec(tuple(argv), self.cwd, self.env), on_line)

    async def run_with_file(self, argv: Sequence[str], text: str, log: LogFn | None = None, *,
                            timeout: float | None = None) -> Result:
        """`argv` with its `-f -` pointed at a private file holding `text`."""
        tmp = scratch.mkdtemp("lockstep-k8s-")
        try:
            path = os.path.join(tmp, "objects.yaml")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            args = list(argv)
            args[len(args) - 1 - args[::-1].index("-")] = path
            return await self.run(args, log, timeout=timeout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class JsonStream:
    """Documents from a stream of pretty-printed JSON values, fed line by line.

    A value that cannot be completed (a syntax error before the end of what was fed: input is
    fed in whole lines, and a JSON string never spans lines) is skipped up to the next line
    that starts a value, and reported through `on_bad`: one garbled document must not
    swallow every event after it."""

    def __init__(self, on_bad: Callable[[str], None] | None = None) -> None:
        self._buf = ""
        self._decoder = json.JSONDecoder()
        self._on_bad = on_bad

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
            except json.JSONDecodeError as exc:
                if exc.pos < len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
                    self._buf = self._skip_bad(text, exc)
                    continue
                self._buf = text
                if len(text) > 16 * 1024 * 1024:  # a value that never closes: drop it
                    self._buf = ""
                return docs
            docs.append(doc)
            self._buf = text[end:]

    def _skip_bad(self, text: str, exc: json.JSONDecodeError) -> str:
        first = text.splitlines()[0] if text else ""
        if self._on_bad is not None:
            self._on_bad(f"malformed JSON skipped ({exc.msg} at line {exc.lineno} column {exc.colno}): {first[:120]}")
        # The next value starts at a line beginning with `{` or `[` (kubectl's documents do).
        for i, ch in enumerate(text):
            if i > 0 and text[i - 1] == "\n" and ch in "{[":
                return text[i:]
        return ""
