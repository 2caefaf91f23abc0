"""One started child and its process group, driven straight from the event loop's selector.

Three descriptors are watched with `loop.add_reader`: a pidfd that becomes
readable when the leader exits, and the two output pipes once the child has
lived `WATCH_PIPES_AFTER` (a short command's output is read at its exit, so
its pipes never enter the selector: two registrations, two removals and two
EOF callbacks fewer per update). There is no transport, protocol, child
watcher or task per child: a short command costs one callback for its exit
(which reads whatever output is left and usually finds both pipes at EOF), and
`wait()` one future.

Exit and end-of-output are separate events: the leader's exit is observed on
its own, so a backgrounded grandchild holding stdout cannot hang `wait()`;
after the exit, the pipes get `DRAIN_TIMEOUT` to reach EOF (Go's
exec.Cmd.WaitDelay) and are read until `stop()` closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading

from lockstep.adapters.lines import LineSink, LineSplitter, Stream
from lockstep.adapters.reaper import Reaper, group_alive

# After the leader exits, how long to keep waiting for its pipes to reach EOF
# before `wait()` returns anyway: a backgrounded grandchild may hold them open
# for ever, and the caller must not hang on it.
DRAIN_TIMEOUT = 0.5
# How often `stop()` re-checks whether the group is empty during the grace
# period. There is no kernel event for "process group empty", so this is a
# bounded poll, active only while stopping.
_GROUP_POLL = 0.02
_READ_SIZE = 65536
# The pipes are watched from this long after the start (or at once when stopping, or
# when the leader exits with the pipes still open). Until then a running command's
# output waits in the pipe (64 KiB; a child writing more just blocks until then).
WATCH_PIPES_AFTER = 0.02
# At the leader's exit, read at most this many times per pipe before leaving
# the rest to the reader callbacks (a grandchild may still be writing).
_EXIT_READS = 4


class SubprocessHandle:
    """One started process (and its process group)."""

    def __init__(self, pid: int, out_fd: int, err_fd: int, on_line: LineSink, reaper: Reaper | None) -> None:
        self.pid: int = pid
        self._reaper = reaper
        self._loop = asyncio.get_running_loop()
        self._code: int | None = None
        # Open output pipes (non-blocking read ends) and their splitters.
        self._pipes = {out_fd: LineSplitter(Stream.STDOUT, on_line), err_fd: LineSplitter(Stream.STDERR, on_line)}
        # Exited and drained (or the drain timed out): what wait() waits for.
        self._finished = False
        # Woken at the end (wait) and at every event: exit, a pipe's EOF (stop).
        self._done_waiters: list[asyncio.Future[None]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._drain_timer: asyncio.TimerHandle | None = None
        self._stop_task: asyncio.Task[int] | None = None
        self._released = False
        self._watching_pipes = False
        self._watch_timer: asyncio.TimerHandle | None = self._loop.call_later(WATCH_PIPES_AFTER, self._watch_pipes)
        self._pidfd = -1
        try:
            self._pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            # No pidfds (not Linux >= 5.3): one thread blocks in waitpid for this child.
            threading.Thread(target=self._wait_thread, name=f"wait-{pid}", daemon=True).start()
        else:
            self._loop.add_reader(self._pidfd, self._on_pidfd)

    @property
    def returncode(self) -> int | None:
        return self._code

    async def wait(self) -> int:
        if not self._finished:
            # A future per waiter: a cancelled waiter cancels only its own.
            fut: asyncio.Future[None] = self._loop.create_future()
            self._done_waiters.append(fut)
            await fut
        self._release_if_empty()
        assert self._code is not None
        return self._code

    async def stop(self, grace: float = 5.0) -> int:
        if self._stop_task is None:
            if self._finished and self._released and not self._pipes:
                # Exited, every line delivered, the group found empty: nothing to stop.
                assert self._code is not None
                return self._code
            # One shared task makes stop() idempotent and safe to call
            # concurrently; the shield keeps a cancelled caller from abandoning
            # the group half-stopped.
            self._stop_task = asyncio.ensure_future(self._stop(grace))
        return await asyncio.shield(self._stop_task)

    # --- events -----------------------------------------------------------------

    def _watch_pipes(self) -> None:
        """Read the open pipes as output arrives (the child lives on, or is being stopped)."""
        if self._watch_timer is not None:
            self._watch_timer.cancel()
            self._watch_timer = None
        if not self._watching_pipes:
            self._watching_pipes = True
            for fd in self._pipes:
                self._loop.add_reader(fd, self._on_readable, fd)

    def _on_readable(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._pipes[fd].feed(data)
        else:
            self._close_pipe(fd)

    def _on_pidfd(self) -> None:
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = -1
        try:
            _, status = os.waitpid(self.pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # reaped by someone else: the status is lost
            code = -1
        self._exited(code)

    def _wait_thread(self) -> None:
        try:
            _, status = os.waitpid(self.pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            code = -1
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self._loop.call_soon_threadsafe(self._exited, code)

    def _exited(self, code: int) -> None:
        self._code = code
        if self._watch_timer is not None:
            self._watch_timer.cancel()
            self._watch_timer = None
        # The output written just before the exit is usually in the pipes with
        # their EOF already: read it now rather than in one more callback each.
        for fd in list(self._pipes):
            for _ in range(_EXIT_READS):
                try:
                    data = os.read(fd, _READ_SIZE)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    self._close_pipe(fd)
                    break
                self._pipes[fd].feed(data)
        if self._pipes:
            # Something else holds them (a backgrounded grandchild): read on as it writes.
            self._watch_pipes()
            self._drain_timer = self._loop.call_later(DRAIN_TIMEOUT, self._finish)
            self._notify()
        else:
            self._finish()

    def _close_pipe(self, fd: int) -> None:
        splitter = self._pipes.pop(fd)
        if self._watching_pipes:
            self._loop.remove_reader(fd)
        os.close(fd)
        splitter.close()
        if not self._pipes and self._code is not None:
            self._finish()
        else:
            self._notify()

    def _finish(self) -> None:
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None
        if self._finished:
            return
        self._finished = True
        done, self._done_waiters = self._done_waiters, []
        for fut in done:
            _resolve(fut)
        self._notify()

    def _notify(self) -> None:
        """Wake everything waiting for the next event (exit, a pipe's EOF, the end)."""
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            _resolve(fut)

    async def _event(self, timeout: float | None = None) -> None:
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(fut)
        if timeout is None:
            await fut
            return
        timer = self._loop.call_later(timeout, _resolve, fut)
        try:
            await fut
        finally:
            timer.cancel()

    # --- stopping -----------------------------------------------------------------

    async def _stop(self, grace: float) -> int:
        # The group's last output and the pipes' EOF are what the stop waits for below.
        self._watch_pipes()
        if self._signal_group(signal.SIGTERM):
            deadline = self._loop.time() + grace
            while True:
                remaining = deadline - self._loop.time()
                if remaining <= 0:
                    self._signal_group(signal.SIGKILL)
                    break
                if self._code is None:
                    # The leader's exit is an event: wait for it, not a timer.
                    await self._event(remaining)
                    continue
                if not group_alive(self.pid):
                    break
                await asyncio.sleep(min(remaining, _GROUP_POLL))
        while self._code is None:
            await self._event()
        # The group is gone: the pipes reach EOF promptly now (unless a member
        # escaped with setsid and kept them; then stop reading them).
        drain_until = self._loop.time() + DRAIN_TIMEOUT
        while self._pipes and (left := drain_until - self._loop.time()) > 0:
            await self._event(left)
        self._close()
        self._release()
        assert self._code is not None
        return self._code

    def _close(self) -> None:
        """Stop reading: close the pipes (delivering any unterminated last line)."""
        for fd in list(self._pipes):
            self._close_pipe(fd)
        self._finish()

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
        if not self._released and not group_alive(self.pid):
            self._release()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            if self._reaper is not None:
                self._reaper.unregister(self.pid)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
