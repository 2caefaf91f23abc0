"""Which process is this Tiltfile's running `up`/`ci`, provably.

A bare PID in a file proves nothing: after a crash or a reboot it can belong
to anyone, and `down` would signal a stranger. Two facts together do prove it:

- the instance holds an exclusive `flock` on `<state dir>/lock` for its whole
  life (taken before the Tiltfile is evaluated, so a second `up` started during
  a slow first evaluation is refused; the kernel drops it however the process
  dies, so a crash never leaves a lock behind);
- `up.json` records the PID together with its start time (`/proc/PID/stat`
  field 22, clock ticks since boot), and a reused PID has another start time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from pathlib import Path

from lockstep.adapters.procstat import read_stat
from lockstep.privatefile import write_private_json

LOCK_FILE = "lock"
PIDFILE = "up.json"


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it is gone (or not Linux)."""
    stat = read_stat(pid)
    return stat.start if stat is not None else None


def write_pidfile(sdir: Path, info: dict[str, object]) -> None:
    info = dict(info)
    pid = info.get("pid")
    if isinstance(pid, int):
        info["start"] = start_time(pid)
    write_private_json(sdir / PIDFILE, info)


def read_pidfile(sdir: Path) -> dict[str, object] | None:
    try:
        data = json.loads((sdir / PIDFILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_pidfile(sdir: Path) -> None:
    with contextlib.suppress(OSError):
        (sdir / PIDFILE).unlink()


class InstanceLock:
    """The exclusive lock a running instance holds on its state dir."""

    def __init__(self, sdir: Path) -> None:
        self.path = sdir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another process holds it."""
        # O_CLOEXEC (Python's default): children must not inherit, and so keep, the lock.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def lock_held(sdir: Path) -> bool:
    """Whether some process holds the state dir's instance lock."""
    try:
        fd = os.open(sdir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: assume it is, and so never act on a guess
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def running_pid(sdir: Path) -> tuple[int | None, str | None]:
    """(pid of the provably running instance, None) or (None, why up.json cannot be trusted).

    (None, None) when nothing is recorded at all.
    """
    info = read_pidfile(sdir)
    if info is None:
        return None, None
    pid, start = info.get("pid"), info.get("start")
    if not isinstance(pid, int) or pid <= 0:
        return None, "it holds no valid pid"
    if not lock_held(sdir):
        return None, f"no lockstep holds the state dir's lock (pid {pid} is not lockstep's)"
    if not isinstance(start, int) or start_time(pid) != start:
        return None, f"pid {pid} is not the process that wrote it (its start time differs)"
    return pid, None


# The locks this process holds, by state dir: held from the command's start to run_app's end.
_held: dict[Path, InstanceLock] = {}


def claim(sdir: Path, tiltfile: str) -> int | None:
    """Become the state dir's running instance (None), or say who is: its pid (0 if unknown).

    Records this process in up.json at once, so `down` works during the first evaluation too.
    A stale up.json (its writer gone) is reported on stderr and replaced, never acted on.
    """
    if sdir in _held:
        return None
    lock = InstanceLock(sdir)
    if not lock.acquire():
        pid = (read_pidfile(sdir) or {}).get("pid")
        return pid if isinstance(pid, int) else 0
    _held[sdir] = lock
    old = read_pidfile(sdir)
    if old is not None and old.get("pid") != os.getpid():
        print(f"lockstep: replacing a stale {PIDFILE} (pid {old.get('pid')!r}, from a run that did not"
              " stop cleanly); nothing was signalled", file=sys.stderr)
    write_pidfile(sdir, {"pid": os.getpid(), "tiltfile": tiltfile})
    return None


def release(sdir: Path) -> None:
    lock = _held.pop(sdir, None)
    if lock is not None:
        lock.release()


def step_down(sdir: Path) -> None:
    """No longer the running instance: remove up.json if it is this process's, release the lock."""
    with contextlib.suppress(OSError):
        if (read_pidfile(sdir) or {}).get("pid") == os.getpid():
            (sdir / PIDFILE).unlink()
    release(sdir)
