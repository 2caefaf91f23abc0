"""Run local commands: own process group, line-split output, group-wide stop.

This is the only place lockstep starts processes. Every process gets its own
process group (so `stop()` reaches everything `sh -c` forked), a parent-death
signal (so `kill -9` of lockstep takes the direct child down) and, when a
`Reaper` is given, a registration with the watchdog that kills the rest of the
group (the grandchildren pdeathsig cannot reach).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from lockstep.adapters.reaper import RUN_TAG_VAR, Reaper, group_alive

MAX_LINE_BYTES = 64 * 1024
# After the leader exits, how long to keep waiting for its pipes to reach EOF
# before `wait()` returns anyway: a backgrounded grandchild may hold them open
# for ever, and the caller must not hang on it (Go's exec.Cmd.WaitDelay).
DRAIN_TIMEOUT = 0.5
# How often `stop()` re-checks whether the group is empty during the grace
# period. There is no kernel event for "process group empty", so this is a
# bounded poll, active only while stopping.
_GROUP_POLL = 0.02


class ProcessStartError(Exception):
    """The command could not be started at all (as opposed to exiting non-zero)."""


@dataclass(frozen=True)
class ProcessSpec:
    argv: tuple[str, ...]
    cwd: str
    # Overlaid on os.environ, in order.
    env: tuple[tuple[str, str], ...] = ()


class Stream(enum.Enum):
    STDOUT = "stdout"
    STDERR = "stderr"


LineSink = Callable[[str, Stream], None]


class ProcessHandle(Protocol):
    pid: int

    async def wait(self) -> int: ...

    async def stop(self, grace: float = 5.0) -> int: ...


class ProcessRunner(Protocol):
    async def start(self, spec: ProcessSpec, on_line: LineSink) -> ProcessHandle: ...


# --- parent-death signal ----------------------------------------------------

# Every child is started through util-linux's `setpriv --pdeathsig KILL`, which
# sets the parent-death signal and then execs the command. Doing it in a Python
# `preexec_fn` instead would force a full fork() of lockstep and run Python in
# the child: measured here at 2.4 ms per start at 60 MB RSS and 8.6 ms at
# 300 MB (against 0.5 ms), all of it blocking the event loop. PR_SET_PDEATHSIG
# fires when the *thread* that forked the child exits: we fork from the
# event-loop thread, which lives as long as lockstep does.
_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None


def _wrap(argv: tuple[str, ...], watched: bool) -> list[str]:
    """The argv to exec: the command itself when the watchdog runs, else through setpriv.

    The watchdog (adapters/reaper.py) kills every registered group, and every
    group carrying this run's tag, when lockstep dies: the direct child
    included, which is all that pdeathsig adds. So with a live watchdog each
    command costs one exec, not two (setpriv, then the command). Without one
    (no reaper, or it died), pdeathsig still takes the direct child.
    """
    if _SETPRIV is None or watched:
        return list(argv)
    return [_SETPRIV, "--pdeathsig", "KILL", "--", *argv]


@contextlib.contextmanager
def pidfd_child_watcher() -> Iterator[None]:
    """On Python 3.11, learn of child exits through pidfds on the running loop.

    3.11's default watcher starts one thread per child to wait for it, which
    costs more than the exec of a short command. 3.12 uses pidfds by itself.
    Call with the loop running; restores the default on exit.
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        yield
        return
    previous = asyncio.get_child_watcher()
    watcher = asyncio.PidfdChildWatcher()
    watcher.attach_loop(asyncio.get_running_loop())
    asyncio.set_child_watcher(watcher)
    try:
        yield
    finally:
        asyncio.set_child_watcher(previous)
        watcher.close()


def _check_executable(argv0: str, cwd: str, path: str | None) -> None:
    """The exec errors setpriv would otherwise report as exit 127, as clear start errors."""
    if os.sep in argv0:
        target = argv0 if os.path.isabs(argv0) else os.path.join(cwd, argv0)
        if not os.path.exists(target):
            raise ProcessStartError(f"command not found: {argv0}")
        if os.path.isdir(target) or not os.access(target, os.X_OK):
            raise ProcessStartError(f"permission denied: {argv0}")
        return
    if shutil.which(argv0, path=path) is None:
        candidates = [os.path.join(d, argv0) for d in (path or os.defpath).split(os.pathsep) if d]
        if any(os.path.exists(c) for c in candidates):
            raise ProcessStartError(f"permission denied: {argv0}")
        raise ProcessStartError(f"command not found: {argv0}")


class _BaseEnv:
    """`dict(os.environ)`, rebuilt only when the environment changed.

    Copying os.environ decodes every variable through Python code: about a
    tenth of a millisecond per start, at thousands of starts per `ci` run.
    Comparing its raw (bytes) mapping with the one last copied runs at C speed.
    """

    def __init__(self) -> None:
        self._raw: dict[bytes, bytes] | None = None
        self._env: dict[str, str] = {}

    def get(self) -> dict[str, str]:
        raw: dict[bytes, bytes] | None = getattr(os.environ, "_data", None)
        if raw is None:  # not CPython's os.environ: copy it every time
            return dict(os.environ)
        if raw != self._raw:
            self._raw, self._env = dict(raw), dict(os.environ)
        return self._env


# --- output -------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", errors="replace")


def _split_point(buf: bytes | bytearray, limit: int) -> int:
    """A cut at most `limit` bytes in that does not split a UTF-8 sequence."""
    cut = limit
    # Back off over continuation bytes (10xxxxxx), at most 3 of them.
    while cut > limit - 4 and cut > 0 and (buf[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if cut > 0 else limit


class _Lines:
    """Splits one stream's bytes into lines for the sink."""

    def __init__(self, stream: Stream, on_line: LineSink) -> None:
        self._stream = stream
        self._on_line = on_line
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        start = 0
        while (nl := buf.find(b"\n", start)) >= 0:
            line = bytes(buf[start:nl])
            while len(line) > MAX_LINE_BYTES:
                cut = _split_point(line, MAX_LINE_BYTES)
                self._on_line(_decode(line[:cut]), self._stream)
                line = line[cut:]
            self._on_line(_decode(line), self._stream)
            start = nl + 1
        del buf[:start]
        while len(buf) > MAX_LINE_BYTES:
            cut = _split_point(buf, MAX_LINE_BYTES)
            self._on_line(_decode(bytes(buf[:cut])), self._stream)
            del buf[:cut]

    def close(self) -> None:
        if self._buf:
            self._on_line(_decode(bytes(self._buf)), self._stream)
            self._buf.clear()


class _Protocol(asyncio.SubprocessProtocol):
    """Exit and end-of-output as two separate events.

    asyncio's `Process.wait()` only returns once the pipes are closed too, so a
    backgrounded grandchild holding stdout would hang it for ever; here the
    leader's exit is observed on its own.
    """

    def __init__(self, on_line: LineSink) -> None:
        loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[int] = loop.create_future()
        self.drained: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.SubprocessTransport | None = None
        self._lines = {1: _Lines(Stream.STDOUT, on_line), 2: _Lines(Stream.STDERR, on_line)}
        self._open = {1, 2}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._lines[fd].feed(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd in self._lines:
            self._lines[fd].close()
        self._open.discard(fd)
        if not self._open and not self.drained.done():
            self.drained.set_result(None)

    def process_exited(self) -> None:
        assert self.transport is not None
        code = self.transport.get_returncode()
        if not self.exited.done():
            self.exited.set_result(code if code is not None else -1)

    def connection_lost(self, exc: Exception | None) -> None:
        # Exited and every pipe closed: release the transport now rather than
        # in a finalizer after the loop is gone.
        if self.transport is not None:
            self.transport.close()


# --- the real runner ----------------------------------------------------------


class SubprocessHandle:
    """One started process (and its process group)."""

    def __init__(self, pid: int, protocol: _Protocol, reaper: Reaper | None) -> None:
        self.pid: int = pid
        self._proto = protocol
        self._reaper = reaper
        self._stop_task: asyncio.Task[int] | None = None
        self._released = False

    @property
    def returncode(self) -> int | None:
        return self._proto.exited.result() if self._proto.exited.done() else None

    async def wait(self) -> int:
        code = await asyncio.shield(self._proto.exited)
        # Deliver every line the process wrote before reporting its exit.
        if not self._proto.drained.done():
            await asyncio.wait([self._proto.drained], timeout=DRAIN_TIMEOUT)
        self._release_if_empty()
        return code

    async def stop(self, grace: float = 5.0) -> int:
        # One shared task makes stop() idempotent and safe to call
        # concurrently; the shield keeps a cancelled caller from abandoning
        # the group half-stopped.
        if self._stop_task is None:
            self._stop_task = asyncio.ensure_future(self._stop(grace))
        return await asyncio.shield(self._stop_task)

    async def _stop(self, grace: float) -> int:
        exited = self._proto.exited
        if self._signal_group(signal.SIGTERM):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + grace
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    self._signal_group(signal.SIGKILL)
                    break
                if not exited.done():
                    # The leader's exit is an event: wait for it, not a timer.
                    await asyncio.wait([exited], timeout=remaining)
                    continue
                if not group_alive(self.pid):
                    break
                await asyncio.sleep(min(remaining, _GROUP_POLL))
        code = await asyncio.shield(exited)
        # The group is gone: the pipes reach EOF promptly now (unless a member
        # escaped with setsid and kept them; then stop reading them).
        if not self._proto.drained.done():
            await asyncio.wait([self._proto.drained], timeout=DRAIN_TIMEOUT)
        if self._proto.transport is not None:
            self._proto.transport.close()
        self._release()
        return code

    def _signal_group(self, sig: int) -> bool:
        try:
            os.killpg(self.pid, sig)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            # The pgid was reused by someone else's group; ours is gone.
            return False

    def _release_if_empty(self) -> None:
        if not group_alive(self.pid):
            self._release()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            if self._reaper is not None:
                self._reaper.unregister(self.pid)


class SubprocessRunner:
    """Starts real processes on the running asyncio loop."""

    def __init__(self, reaper: Reaper | None = None) -> None:
        self._reaper = reaper
        self._base_env = _BaseEnv()

    async def start(self, spec: ProcessSpec, on_line: LineSink) -> SubprocessHandle:
        # asyncio's subprocess_exec, cancelled mid-start, kills the child and then
        # waits for an exit notification that can fail to come, hanging the
        # cancelled task (and a TaskGroup shutting down behind it). So the start
        # runs to completion under a shield; a cancelled caller stops the new
        # process itself, then takes its cancellation.
        starting = asyncio.ensure_future(self._start(spec, on_line))
        try:
            return await asyncio.shield(starting)
        except asyncio.CancelledError:
            with contextlib.suppress(BaseException):
                handle = await starting
                await handle.stop(grace=1.0)
            raise

    async def _start(self, spec: ProcessSpec, on_line: LineSink) -> SubprocessHandle:
        if not spec.argv:
            raise ProcessStartError("empty command")
        if not os.path.isdir(spec.cwd):
            raise ProcessStartError(f"directory does not exist: {spec.cwd}")
        env = {**self._base_env.get(), **dict(spec.env)}
        loop = asyncio.get_running_loop()
        if self._reaper is not None:
            self._reaper.start()
            env[RUN_TAG_VAR] = self._reaper.tag
        watched = self._reaper is not None and self._reaper.watching
        if not watched:
            # Through setpriv, a missing command would be its exit 127; executed
            # directly, the exec error itself says so (mapped below).
            _check_executable(spec.argv[0], spec.cwd, env.get("PATH"))
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _Protocol(on_line),
                *_wrap(spec.argv, watched),
                cwd=spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
            )
        except FileNotFoundError as e:
            if e.filename is not None and os.fspath(e.filename) == spec.cwd:
                raise ProcessStartError(f"directory does not exist: {spec.cwd}") from e
            raise ProcessStartError(f"command not found: {spec.argv[0]}") from e
        except PermissionError as e:
            raise ProcessStartError(f"permission denied: {spec.argv[0]}") from e
        except OSError as e:
            raise ProcessStartError(f"cannot start {spec.argv[0]}: {e.strerror or e}") from e
        pid = transport.get_pid()
        # Registered as soon as the pid is known; a start in the instant before
        # lockstep died is still found by the watchdog through RUN_TAG_VAR.
        if self._reaper is not None:
            self._reaper.register(pid)
        return SubprocessHandle(pid, protocol, self._reaper)


if TYPE_CHECKING:
    # The real runner and handle satisfy the Protocols the engine codes against.
    _runner: ProcessRunner = SubprocessRunner()
    _handle: type[ProcessHandle] = SubprocessHandle
