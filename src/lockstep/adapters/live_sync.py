"""The file side of a live update: what exists locally, and the tar that carries the copies.

The tar's members are named by their container paths (relative to `/`), so one
`tar -x -C /` in the container puts every file where its sync step says. Every file is
stamped (size, mtime) as it is read and stamped again once the tar is written: a file that
moved in between was being written while it was read, and the tar is refused rather than
put into a container half-written (C4: the sync waits for the writes to settle instead).
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from lockstep.model.liveupdate import Copy

Include = Callable[[str], bool]


def existing(paths: Iterable[str]) -> dict[str, bool]:
    """path -> whether it exists locally now (a dangling symlink counts: it is copied as a link)."""
    return {p: os.path.lexists(p) for p in paths}


@dataclass(frozen=True)
class SyncTar:
    path: str
    files: tuple[str, ...]  # the container paths of the regular files and links in it
    stable: bool  # no file moved while it was read


def _walk(local: str, remote: str, include: Include, descend: Include) -> Iterator[tuple[str, str]]:
    yield local, remote
    if os.path.isdir(local) and not os.path.islink(local):
        for root, dirs, files in os.walk(local):
            dirs[:] = sorted(d for d in dirs if descend(os.path.join(root, d)))
            rel = os.path.relpath(root, local)
            base = remote if rel == "." else f"{remote.rstrip('/')}/{rel}"
            for name in dirs + sorted(files):
                path = os.path.join(root, name)
                if name in dirs or include(path):
                    yield path, f"{base.rstrip('/')}/{name}"


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _everything(path: str) -> bool:
    return True


def write_tar(copies: Iterable[Copy], dest: str, include: Include = _everything,
              descend: Include = _everything) -> SyncTar:
    """A tar at `dest` holding every copy: directories whole, minus the files `include` rejects
    and the directories `descend` says hold nothing wanted (the image's own filter)."""
    stamps: dict[str, tuple[int, int] | None] = {}
    files: list[str] = []
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for copy in copies:
            for local, remote in _walk(copy.local, copy.remote, include, descend):
                stamps[local] = _stamp(local)
                try:
                    info = tar.gettarinfo(local, arcname=remote.lstrip("/") or ".")
                except OSError:
                    stamps[local] = (-1, -1)  # gone while read: certainly not stable
                    continue
                # Extracted by the container's user: owned by it, not by a local uid it may not know.
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isreg():
                    try:
                        with open(local, "rb") as fh:
                            tar.addfile(info, fh)
                    except OSError:
                        stamps[local] = (-1, -1)
                        continue
                else:
                    tar.addfile(info)
                if not info.isdir():
                    files.append(remote)
    stable = all(_stamp(p) == s for p, s in stamps.items())
    return SyncTar(dest, tuple(files), stable)
