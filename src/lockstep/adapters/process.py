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
import ctypes
import enum
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from lockstep.adapters.reaper import Reaper, group_alive

MAX_LINE_BYTES = 64 * 1024
_READ_CHUNK = 64 * 1024
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

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn: Callable[..., int] = libc.prctl
        return fn
    except (OSError, AttributeError):
        return None


# Resolved once in the parent: the child (between fork and exec) should do as
# little as possible, and must not import or dlopen anything.
_prctl = _load_prctl()


def _child_setup(parent_pid: int) -> Callable[[], None] | None:
    if _prctl is None:
        return None
    prctl = _prctl

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died between fork() and prctl(): the signal would
        # then never come, so check by hand.
        if os.getppid() != parent_pid:
            os._exit(1)

    return setup


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


async def _pump(reader: asyncio.StreamReader, stream: Stream, on_line: LineSink) -> None:
    buf = bytearray()
    while True:
        chunk = await reader.read(_READ_CHUNK)
        if not chunk:
            break
        buf += chunk
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = bytes(buf[start:nl])
            while len(line) > MAX_LINE_BYTES:
                cut = _split_point(line, MAX_LINE_BYTES)
                on_line(_decode(line[:cut]), stream)
                line = line[cut:]
            on_line(_decode(line), stream)
            start = nl + 1
        del buf[:start]
        while len(buf) > MAX_LINE_BYTES:
            cut = _split_point(buf, MAX_LINE_BYTES)
            on_line(_decode(bytes(buf[:cut])), stream)
            del buf[:cut]
    if buf:
        on_line(_decode(bytes(buf)), stream)


# --- the real runner ----------------------------------------------------------


class SubprocessHandle:
    """One started process (and its process group)."""

    def __init__(
        self, proc: asyncio.subprocess.Process, pumps: list[asyncio.Task[None]], reaper: Reaper | None
    ) -> None:
        self.pid: int = proc.pid
        self._proc = proc
        self._pumps = pumps
        self._reaper = reaper
        self._stop_task: asyncio.Task[int] | None = None
        self._released = False

    async def wait(self) -> int:
        code = await self._proc.wait()
        # Deliver every line the process wrote before reporting its exit.
        pending = [t for t in self._pumps if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=DRAIN_TIMEOUT)
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
        pgid = self.pid
        if self._signal_group(signal.SIGTERM):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + grace
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    self._signal_group(signal.SIGKILL)
                    break
                if self._proc.returncode is None:
                    # The leader's exit is an event: wait for it, not a timer.
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(asyncio.shield(self._proc.wait()), remaining)
                    continue
                if not group_alive(pgid):
                    break
                await asyncio.sleep(min(remaining, _GROUP_POLL))
        code = await self._proc.wait()
        # The group is gone: the pipes will reach EOF promptly now.
        for task in self._pumps:
            if not task.done():
                await asyncio.wait([task], timeout=DRAIN_TIMEOUT)
            if not task.done():
                task.cancel()
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

    async def start(self, spec: ProcessSpec, on_line: LineSink) -> SubprocessHandle:
        if not spec.argv:
            raise ProcessStartError("empty command")
        if not os.path.isdir(spec.cwd):
            raise ProcessStartError(f"directory does not exist: {spec.cwd}")
        env = dict(os.environ)
        env.update(spec.env)
        try:
            proc = await asyncio.create_subprocess_exec(
                *spec.argv,
                cwd=spec.cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
                preexec_fn=_child_setup(os.getpid()),
            )
        except FileNotFoundError as e:
            if e.filename is not None and os.fspath(e.filename) == spec.cwd:
                raise ProcessStartError(f"directory does not exist: {spec.cwd}") from e
            raise ProcessStartError(f"command not found: {spec.argv[0]}") from e
        except PermissionError as e:
            raise ProcessStartError(f"permission denied: {spec.argv[0]}") from e
        except OSError as e:
            raise ProcessStartError(f"cannot start {spec.argv[0]}: {e.strerror or e}") from e
        # Registered right after fork: pdeathsig covers the leader in the short
        # window before this line, and nothing else exists yet that early.
        if self._reaper is not None:
            self._reaper.register(proc.pid)
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [
            asyncio.create_task(_pump(proc.stdout, Stream.STDOUT, on_line)),
            asyncio.create_task(_pump(proc.stderr, Stream.STDERR, on_line)),
        ]
        return SubprocessHandle(proc, pumps, self._reaper)
