"""A watchdog process that kills lockstep's process groups if lockstep dies.

The parent-death signal only reaches a direct child: when lockstep is
`kill -9`ed, the `sleep` that `sh -c 'sleep 300 & ...'` forked survives,
re-parented to init. So lockstep starts one small watchdog per instance, in its
own session (a Ctrl-C or a group kill aimed at lockstep does not reach it),
and tells it over a pipe which process groups exist:

    +PGID    a group was started
    -PGID    a group is gone (reaped and empty)
    exit     clean shutdown: exit without killing anything

The watchdog reads until EOF. EOF without `exit` means lockstep died, however
it died (the kernel closes the write end): it SIGTERMs every registered group,
gives them a grace period, SIGKILLs what is left, and exits.

A clean stop (`down`, Ctrl-C, the end of `ci`) also sweeps the tag: a `cmd`
that `setsid`s a daemon leaves its group, so stopping the groups lockstep
started does not reach it, and nothing else would.

Registration happens right after a start, so a process started in the instant
before lockstep died could be missed. Every child therefore also carries this
instance's tag in its environment (`RUN_TAG_VAR`); at EOF the watchdog also
takes every process group that has a member carrying the tag.

This module imports only the standard library and `adapters/procstat.py` (itself
standard library only): it is also the watchdog's `__main__`, started with
`python -m lockstep.adapters.reaper`.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable

from lockstep.adapters.procstat import read_stat

GRACE_SECS = 2.0
# How long registrations may wait to share one write to the watchdog (see Reaper._post).
COALESCE_SECS = 0.02
_POLL = 0.05
_FIRST_POLL = 0.001
# Environment variable carrying the per-instance tag into every child.
RUN_TAG_VAR = "LOCKSTEP_RUN_TAG"


def group_alive(pgid: int) -> bool:
    """Whether process group `pgid` still has a live (non-zombie) member."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not sys.platform.startswith("linux"):
        return True
    # kill(0) also succeeds for zombies, and orphaned zombies may never be
    # reaped when PID 1 is not an init (containers): ask /proc instead.
    return any(True for _ in _live_members(pgid))


def _live_members(pgid: int) -> Iterable[int]:
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        stat = read_stat(entry.name)
        if stat is not None and stat.pgid == pgid and not stat.zombie:
            yield int(entry.name)


def kill_groups(pgids: Iterable[int], grace: float = GRACE_SECS, *,
                sleep: Callable[[float], None] | None = None, clock: Callable[[], float] | None = None) -> None:
    """SIGTERM every group, wait up to `grace` for them to go, SIGKILL the rest.

    Returns at once when no group is left to wait for: a clean stop usually finds none."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    remaining: set[int] = set()
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            continue
        remaining.add(pgid)
    deadline = clock() + grace
    # A poll: "group empty" has no event to wait on. It looks before each pause, and the
    # pauses grow from 1 ms: a group that goes at SIGTERM is seen gone within about the
    # time it took, not after a fixed 50 ms.
    pause = _FIRST_POLL
    while remaining:
        remaining = {p for p in remaining if group_alive(p)}
        left = deadline - clock()
        if not remaining or left <= 0:
            break
        sleep(min(pause, left))
        pause = min(pause * 2, _POLL)
    for pgid in remaining:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def _exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for `proc` to exit (and reap it), at most `timeout` seconds.

    On a pidfd, the kernel says when: `Popen.wait(timeout)` polls in growing sleeps instead,
    and the watchdog exits within a few ms of being told to."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if ready:
        proc.wait()
    return bool(ready)


def tagged_groups(tag: str) -> set[int]:
    """Process groups with a live member whose environment carries this run's tag (Linux /proc)."""
    if not tag or not sys.platform.startswith("linux"):
        return set()
    needle = f"{RUN_TAG_VAR}={tag}".encode()
    me = os.getpid()
    found: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            found.add(os.getpgid(int(entry.name)))
        except (OSError, ProcessLookupError):
            continue
    # Never our own group: from lockstep's clean-exit sweep, that would signal lockstep
    # itself and whatever started it in the same group (a shell script, a test runner).
    found.discard(os.getpgrp())
    return found


def watchdog_main() -> int:
    os.chdir("/")  # do not keep the project's mount busy
    tag = sys.argv[1] if len(sys.argv) > 1 else ""
    groups: set[int] = set()
    for raw in sys.stdin.buffer:
        line = raw.strip()
        if line == b"exit":
            return 0
        try:
            if line.startswith(b"+"):
                groups.add(int(line[1:]))
            elif line.startswith(b"-"):
                groups.discard(int(line[1:]))
        except ValueError:
            continue
    kill_groups(groups | tagged_groups(tag))
    return 0


class Reaper:
    """lockstep's side of the watchdog: start it, tell it about groups, close it."""

    def __init__(self, grace: float = GRACE_SECS, coalesce: float = COALESCE_SECS) -> None:
        self._grace = grace
        self._coalesce = coalesce
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._closed = False
        # Put into every child's environment (RUN_TAG_VAR) by the process runner.
        self.tag = uuid.uuid4().hex
        # The groups registered and not yet released, for kill_now().
        self._groups: set[int] = set()
        # Messages waiting for the end of the event loop's iteration (see _post).
        self._outbox: list[str] = []
        # Told to exit (begin_close), not yet seen gone (wait_closed).
        self._exiting: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Start the watchdog (idempotent)."""
        with self._lock:
            if self._proc is not None or self._closed:
                return
            import lockstep

            src = os.path.dirname(os.path.dirname(os.path.abspath(lockstep.__file__)))
            env = {k: v for k, v in os.environ.items() if k != RUN_TAG_VAR}
            env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
            # The pipe's write end is created O_CLOEXEC by Popen and every child
            # lockstep starts uses close_fds: only lockstep itself holds it, so
            # its death is exactly what EOF means.
            self._proc = subprocess.Popen(
                # -S: it needs the standard library and lockstep (PYTHONPATH) only, not `site`.
                [sys.executable, "-S", "-m", "lockstep.adapters.reaper", self.tag],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
                env=env,
            )

    @property
    def watching(self) -> bool:
        """The watchdog runs (it takes even a direct child when lockstep dies)."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    def register(self, pgid: int) -> None:
        self.start()
        self._groups.add(pgid)
        self._post(f"+{pgid}\n")

    def unregister(self, pgid: int) -> None:
        self._groups.discard(pgid)
        self._post(f"-{pgid}\n")

    def _post(self, msg: str) -> None:
        """Send now, or (on an event loop) with the other messages of the next `coalesce` seconds, in one write.

        A write to the pipe wakes the watchdog: one per start and one per end
        cost about as much as the start itself on a busy machine. Deferring a
        registration leaves no gap: until it is sent, the child's run tag
        already marks its group for the watchdog. A deferred unregistration
        names a group that is gone; were lockstep to die meanwhile, the
        watchdog's signal to it fails harmlessly (a pid is not reused within
        milliseconds).
        """
        import asyncio  # here: the watchdog (this module's __main__) never posts

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._send(msg)
            return
        with self._lock:
            self._outbox.append(msg)
            if len(self._outbox) > 1:
                return
        if self._coalesce > 0:
            loop.call_later(self._coalesce, self._send_posted)
        else:
            loop.call_soon(self._send_posted)

    def _send_posted(self) -> None:
        with self._lock:
            msgs, self._outbox = self._outbox, []
        if msgs:
            self._send("".join(msgs))

    def kill_now(self) -> None:
        """SIGKILL every registered group at once (a second Ctrl-C: no more graceful waits)."""
        for pgid in list(self._groups):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)

    def close(self, sweep: bool = True) -> None:
        """Clean shutdown: kill what still carries this run's tag, then let the watchdog exit.

        Called after the controllers have stopped their own processes: what is
        left with the tag escaped its process group (a daemon that setsid'd).
        """
        self.begin_close(sweep)
        self.wait_closed()

    def begin_close(self, sweep: bool = True) -> None:
        """`close` up to telling the watchdog to exit; `wait_closed` waits for it to be gone.

        Between the two the caller may do other work (write its logs) while the watchdog exits."""
        self._send_posted()
        if sweep and not self._closed:
            kill_groups(tagged_groups(self.tag), self._grace)
        with self._lock:
            proc, self._proc = self._proc, None
            self._closed = True
        if proc is None or proc.stdin is None:
            return
        self._exiting = proc
        with contextlib.suppress(BrokenPipeError, OSError):
            proc.stdin.write(b"exit\n")
            proc.stdin.flush()
        with contextlib.suppress(BrokenPipeError, OSError):
            proc.stdin.close()

    def wait_closed(self) -> None:
        """Return once the watchdog told to exit by `begin_close` is gone (killed if it does not go)."""
        proc, self._exiting = self._exiting, None
        if proc is not None and not _exited(proc, self._grace + 1.0):
            proc.kill()
            proc.wait()

    def _send(self, msg: str) -> None:
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None:
                return
            # Small writes to a pipe the watchdog drains continuously: these do
            # not block in practice, and must not be lost in a buffer.
            try:
                proc.stdin.write(msg.encode())
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                # The watchdog is gone; pdeathsig still covers direct children.
                self._proc = None

    def __enter__(self) -> Reaper:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    # Nothing to flush or free (its output is /dev/null): skip the interpreter's teardown,
    # which lockstep's own exit would otherwise wait out (wait_closed).
    os._exit(watchdog_main())
