"""Writing state to disk without letting the disk take `up` down.

A full disk (ENOSPC, EDQUOT) or a failing one (EIO) must not stop anything:
servers stay up and logs stay in memory. `DiskHealth` collects what is not
being saved, for the dashboard's banner and the view API; writers retry on
their next write and clear the problem once a write goes through again.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from typing import IO

log = logging.getLogger(__name__)

_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def describe(exc: OSError) -> str:
    if exc.errno in _FULL:
        return "disk full"
    return (exc.strerror or str(exc)).lower()


class DiskHealth:
    """What is currently not being saved, by writer ("logs", "history")."""

    def __init__(self) -> None:
        self._failing: dict[str, str] = {}

    def failed(self, what: str, exc: OSError) -> None:
        reason = describe(exc)
        if self._failing.get(what) != reason:
            # One warning per outage, not one per write.
            log.warning("%s are not being saved: %s (%s); lockstep keeps running", what, reason, exc)
        self._failing[what] = reason

    def ok(self, what: str) -> None:
        if self._failing.pop(what, None) is not None:
            log.warning("%s are being saved again", what)

    @property
    def problem(self) -> str | None:
        """One line for the banner, e.g. "logs are not being saved: disk full"."""
        if not self._failing:
            return None
        whats = " and ".join(sorted(self._failing))
        reasons = sorted(set(self._failing.values()))
        return f"{whats} are not being saved: {', '.join(reasons)}"


def open_append(path: str | os.PathLike[str], buffering: int = -1) -> IO[str]:
    """Open a lines file for appending; start a new line if a crash or a full disk tore the last one."""
    f = open(path, "a", encoding="utf-8", buffering=buffering)  # noqa: SIM115 - the caller keeps it
    if f.tell() == 0:
        return f  # new or empty (append mode starts at the end): nothing torn, no second open
    try:
        with open(path, "rb") as r:
            if r.seek(0, os.SEEK_END) > 0:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    f.write("\n")
    except OSError:
        f.close()
        raise
    return f


def discard(f: IO[str] | None) -> None:
    """Drop a handle whose last write failed: its buffer holds a partial write that must not be retried."""
    if f is None:
        return
    with contextlib.suppress(OSError, ValueError):
        f.close()
    # close() tries to flush the same buffer again and may fail the same way; the fd must still go.
    with contextlib.suppress(OSError, ValueError):
        os.close(f.fileno())


def open_append_fd(path: str | os.PathLike[str]) -> int:
    """`open_append` as a bare descriptor (no Python buffer, no text layer): for writers that hand
    the kernel whole batches. Starts a new line if a crash or a full disk tore the last one."""
    # Read access for the one-byte look at the end; O_APPEND keeps every write at the end.
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(fd).st_size
        if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
            write_all(fd, b"\n")
    except OSError:
        os.close(fd)
        raise
    return fd


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` (a full disk shows as a short write, then the error)."""
    done = os.write(fd, data)
    while done < len(data):
        step = os.write(fd, memoryview(data)[done:])
        if step == 0:  # never for a regular file; must not spin
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done += step


def close_fd(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
