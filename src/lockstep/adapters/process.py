"""Run local commands: own process group, line-split output, group-wide stop.

This is the only place lockstep starts processes. Every process gets its own
process group (so `stop()` reaches everything `sh -c` forked), a parent-death
signal (so `kill -9` of lockstep takes the direct child down) and, when a
`Reaper` is given, a registration with the watchdog that kills the rest of the
group (the grandchildren pdeathsig cannot reach).

The start itself (adapters/spawn.py) is a synchronous fork + exec with the
environment encoded once; the running child (adapters/child.py) is watched
through its pipes and a pidfd on the event loop; its output is split into
lines by adapters/lines.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from lockstep.adapters.child import DRAIN_TIMEOUT, SubprocessHandle
from lockstep.adapters.lines import MAX_LINE_BYTES, LineSink, Stream
from lockstep.adapters.reaper import RUN_TAG_VAR, Reaper
from lockstep.adapters.spawn import Environments, exec_candidates, spawn

__all__ = [
    "DRAIN_TIMEOUT", "MAX_LINE_BYTES", "LineSink", "ProcessHandle", "ProcessRunner", "ProcessSpec",
    "ProcessStartError", "Stream", "SubprocessHandle", "SubprocessRunner", "pidfd_child_watcher",
]


class ProcessStartError(Exception):
    """The command could not be started at all (as opposed to exiting non-zero)."""


@dataclass(frozen=True)
class ProcessSpec:
    argv: tuple[str, ...]
    cwd: str
    # Overlaid on os.environ, in order.
    env: tuple[tuple[str, str], ...] = ()


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
    """On Python 3.11, learn of asyncio subprocesses' exits through pidfds on the running loop.

    3.11's default watcher starts one thread per child to wait for it, which
    costs more than the exec of a short command. 3.12 uses pidfds by itself.
    The process runner here watches its children itself; this serves the
    adapters that use asyncio's subprocesses (docker, kubectl).
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


# /dev/null, opened once: every child's stdin.
_devnull = -1


def _stdin() -> int:
    global _devnull
    if _devnull < 0:
        _devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    return _devnull


def _pipe() -> tuple[int, int]:
    """A close-on-exec pipe whose read end does not block (the event loop reads it)."""
    r, w = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(r, False)
    return r, w


class SubprocessRunner:
    """Starts real processes on the running asyncio loop."""

    def __init__(self, reaper: Reaper | None = None) -> None:
        self._reaper = reaper
        self._envs = Environments()
        # Exec candidates by (argv[0], PATH): the PATH walk is string work worth keeping.
        self._exe: dict[tuple[str, str | None], tuple[bytes, ...]] = {}

    async def start(self, spec: ProcessSpec, on_line: LineSink) -> SubprocessHandle:
        # Nothing here awaits: the child is started, registered with the
        # watchdog and handed over before a cancellation can be delivered, so
        # a cancelled start never leaves a process behind (the caller's own
        # cleanup, e.g. LocalRunner's stop, owns it from the return on).
        if not spec.argv:
            raise ProcessStartError("empty command")
        if not os.path.isdir(spec.cwd):
            raise ProcessStartError(f"directory does not exist: {spec.cwd}")
        reaper = self._reaper
        overlay = spec.env
        if reaper is not None:
            reaper.start()
            overlay = (*overlay, (RUN_TAG_VAR, reaper.tag))
        watched = reaper is not None and reaper.watching
        argv0 = spec.argv[0]
        try:
            env_list, env = self._envs.get(overlay)
        except ValueError as e:
            raise ProcessStartError(f"cannot start {argv0}: {e}") from e
        if not watched:
            # Through setpriv, a missing command would be its exit 127; executed
            # directly, the exec error itself says so (mapped below).
            _check_executable(argv0, spec.cwd, env.get("PATH"))
        argv = _wrap(spec.argv, watched)
        key = (argv[0], env.get("PATH"))
        exe = self._exe.get(key)
        if exe is None:
            if len(self._exe) > 256:
                self._exe.clear()
            exe = self._exe[key] = exec_candidates(argv[0], env)
        out_r, out_w = _pipe()
        err_r, err_w = _pipe()
        try:
            pid = spawn(argv, exe, spec.cwd, env_list, env, _stdin(), out_w, err_w)
        except FileNotFoundError as e:
            os.close(out_r)
            os.close(err_r)
            if e.filename is not None and os.fspath(e.filename) == spec.cwd:
                raise ProcessStartError(f"directory does not exist: {spec.cwd}") from e
            raise ProcessStartError(f"command not found: {argv0}") from e
        except PermissionError as e:
            os.close(out_r)
            os.close(err_r)
            raise ProcessStartError(f"permission denied: {argv0}") from e
        except (OSError, ValueError, subprocess.SubprocessError) as e:
            os.close(out_r)
            os.close(err_r)
            detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise ProcessStartError(f"cannot start {argv0}: {detail}") from e
        finally:
            os.close(out_w)
            os.close(err_w)
        # Registered as soon as the pid is known; a start in the instant before
        # lockstep died is still found by the watchdog through RUN_TAG_VAR.
        if reaper is not None:
            reaper.register(pid)
        return SubprocessHandle(pid, out_r, err_r, on_line, reaper)


if TYPE_CHECKING:
    # The real runner and handle satisfy the Protocols the engine codes against.
    _runner: ProcessRunner = SubprocessRunner()
    _handle: type[ProcessHandle] = SubprocessHandle
