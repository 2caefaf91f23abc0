"""Scratch directories (build contexts, sync tarballs, compose overrides) that a killed run
cannot leave behind forever.

A run's scratch space lives in its private state dir, one directory per process, named for
the process that owns it: `<state dir>/tmp/<pid>-<start>` (start: the process's start time
in clock ticks since boot, so a reused pid is told apart). Each user still removes its own
directory when it is done; what a `kill -9` (or a crash, a lost machine) leaves behind is
swept by the next `up`/`ci` of the same Tiltfile and by `down`: every owner directory whose
process is gone. A directory of a process that is still running is never touched, whoever
it is.

Until `use()` is called (unit tests, a library user) scratch directories go to the system's
temporary directory, as before: the state dir is a property of a run, and one process runs
one `up`/`ci`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from lockstep.adapters.procstat import process_alive, read_stat

SCRATCH = "tmp"  # under the state dir
_OWNER = re.compile(r"^(\d+)-(\d+)$")
_root: Path | None = None


def _start(pid: int) -> int:
    stat = read_stat(pid)
    return stat.start if stat is not None and stat.start is not None else 0


def owner_dir(sdir: Path, pid: int | None = None) -> Path:
    pid = os.getpid() if pid is None else pid
    return sdir / SCRATCH / f"{pid}-{_start(pid)}"


def use(sdir: Path) -> None:
    """From now on this process's scratch directories go under `sdir`."""
    global _root
    _root = owner_dir(Path(os.path.abspath(sdir)))  # absolute: compared with the paths to avoid


def mkdtemp(prefix: str, avoid: Iterable[str] = ()) -> str:
    """A new private (0700) directory; the caller removes it when done.

    `avoid`: directories the scratch must not lie in (an image's build context, a live
    update's sync sources): a state dir placed inside the project (LOCKSTEP_STATE_DIR=./x)
    would otherwise put the build's own files into what it reads. There the system's
    temporary directory serves, as it did before state dirs held scratch space."""
    if _root is None or any(_inside(str(_root), a) for a in avoid):
        return tempfile.mkdtemp(prefix=prefix)
    _root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return tempfile.mkdtemp(prefix=prefix, dir=_root)


def _inside(path: str, directory: str) -> bool:
    directory = os.path.abspath(directory).rstrip("/") or "/"
    return path == directory or path.startswith(directory if directory == "/" else directory + "/")


def release() -> None:
    """At a clean stop: drop this process's owner directory if nothing is left in it."""
    if _root is not None:
        with contextlib.suppress(OSError):
            _root.rmdir()


def _owner_alive(pid: int, start: int) -> bool:
    if not process_alive(pid):
        return False
    # start 0: written where /proc gave no start time; the pid alone must then do.
    return start == 0 or _start(pid) == start


def sweep(sdir: Path) -> list[str]:
    """Remove the scratch directories of processes that are gone; their names, for the report."""
    base = sdir / SCRATCH
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return []
    removed = []
    for name in entries:
        m = _OWNER.match(name)
        if m is None or _owner_alive(int(m.group(1)), int(m.group(2))):
            continue  # not an owner directory, or its process still runs: never touched
        path = base / name
        if not path.is_dir() or path.is_symlink():
            continue
        removed += [f"{name}/{child}" for child in sorted(os.listdir(path))]
        shutil.rmtree(path, ignore_errors=True)
    return removed
