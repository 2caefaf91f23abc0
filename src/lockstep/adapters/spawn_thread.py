"""Fork + exec on a helper thread, so that the event loop goes on while a child execs.

CPython starts children with vfork (adapters/spawn.py): the calling thread is
suspended until the child has exec'd, and on a loaded machine the child first
waits for a core. Measured inside `lockstep ci` at 1,000 resources on this
2-core machine at load ~6: 0.05 ms of CPU per start, but 0.65 ms wall at the
median and 5-7 ms at p90, half of the whole run's wall time with the event
loop standing still. Since 3.11.6 (gh-104372) `fork_exec` releases the GIL
around that wait, so a thread that does only the fork + exec leaves the loop
free to reduce, decide and read output meanwhile.

One long-lived thread per runner takes the starts in order from a queue. The
caller's contract stays the one of a synchronous start: a start whose waiter
was cancelled never leaves a process behind. A job cancelled before the thread
took it is dropped (its descriptors closed); one whose fork was already under
way is killed (its whole group) and reaped by the thread as soon as its pid is
known. Only starts with a live watchdog come here: without one, the child's
parent-death signal (setpriv) is tied to the thread that forked it, and that
must be the event loop's, which lives as long as lockstep.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from lockstep.adapters.spawn import spawn

T = TypeVar("T")


@dataclass
class _Job:
    argv: Sequence[str]
    exe: tuple[bytes, ...]
    cwd: str
    env_list: list[bytes]
    env: dict[str, str]
    stdin: int
    # The child's ends (closed by the thread once the child has them) and the parent's.
    out_w: int
    err_w: int
    out_r: int
    err_r: int
    loop: asyncio.AbstractEventLoop
    fut: asyncio.Future[int]
    # Set on the loop when the waiter is cancelled; read by the thread before it forks.
    cancelled: bool = False
    # For the thread only: a pid to kill and reap (a start nobody waits for any more).
    abandoned: int = field(default=0)


class SpawnThread:
    """Runs `spawn` for the event loop on one helper thread (started at the first start)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def spawn(
        self, argv: Sequence[str], exe: tuple[bytes, ...], cwd: str, env_list: list[bytes], env: dict[str, str],
        stdin: int, out: tuple[int, int], err: tuple[int, int],
    ) -> int:
        """`spawn(...)` off the loop; `out`/`err` are (read end, write end) pairs, all four owned from here on.

        On success the read ends are the caller's; on an exec error they are too (the error is
        raised as `spawn` raises it); on cancellation nothing is left: no descriptor, no process.
        """
        loop = asyncio.get_running_loop()
        job = _Job(argv, exe, cwd, env_list, env, stdin, out[1], err[1], out[0], err[0], loop, loop.create_future())
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lockstep-spawn", daemon=True)
            self._thread.start()
        self._queue.put(job)
        try:
            return await job.fut
        except asyncio.CancelledError:
            job.cancelled = True
            raise

    async def idle(self) -> None:
        """Return once every start queued so far (and its clean-up) is done (tests wait on this)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        if self._thread is None:
            return
        self._queue.put(_Job((), (), "", [], {}, -1, -1, -1, -1, -1, loop, done, cancelled=True))
        await done

    # --- the helper thread ---------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job.abandoned:
                _kill_and_reap(job.abandoned, job)
            elif job.cancelled:
                _close(job.out_w, job.err_w, job.out_r, job.err_r)
                _post(job, _resolve_marker, 0, lambda: None)
            else:
                self._start(job)

    def _start(self, job: _Job) -> None:
        try:
            pid = spawn(job.argv, job.exe, job.cwd, job.env_list, job.env, job.stdin, job.out_w, job.err_w)
        except BaseException as exc:  # the exec's error, for the caller to map
            _close(job.out_w, job.err_w)
            _post(job, self._deliver_error, exc, lambda: _close(job.out_r, job.err_r))
            return
        _close(job.out_w, job.err_w)
        if job.cancelled:
            _kill_and_reap(pid, job)
            return
        _post(job, self._deliver, pid, lambda: _kill_and_reap(pid, job))

    # --- back on the loop --------------------------------------------------------------

    def _deliver(self, job: _Job, pid: int) -> None:
        if job.fut.done():
            # Cancelled after the thread's check: nobody will own this child.
            job.abandoned = pid
            self._queue.put(job)
        else:
            job.fut.set_result(pid)

    def _deliver_error(self, job: _Job, exc: BaseException) -> None:
        if job.fut.done():
            _close(job.out_r, job.err_r)
        else:
            job.fut.set_exception(exc)


def _resolve_marker(job: _Job, _: int) -> None:
    if not job.fut.done():
        job.fut.set_result(0)


def _post(job: _Job, fn: Callable[[_Job, T], None], arg: T, orphaned: Callable[[], None]) -> None:
    """Hand `fn(job, arg)` to the loop; if the loop is closed, nobody waits: `orphaned()` cleans up."""
    try:
        job.loop.call_soon_threadsafe(fn, job, arg)
    except RuntimeError:
        orphaned()


def _kill_and_reap(pid: int, job: _Job) -> None:
    """The start completed for a waiter that is gone: its group dies, its leader is reaped."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    _close(job.out_r, job.err_r)


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
