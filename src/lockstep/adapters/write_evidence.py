"""Evidence that a process group wrote some files (Linux /proc), for learnt edges (C4).

A change to R's files while W runs is only a coincidence until something shows
that W's processes did the writing. Two observations count, both cheap reads of
/proc made only when such a coincidence happens:

- a process of W's group holds a file under R's paths open for writing
  (`/proc/<pid>/fd` + `fdinfo` flags); this misses writes that are already over;
- W's group wrote to files around the change: the `write_bytes` counter of
  `/proc/<pid>/io` grew. It counts bytes dirtied in the page cache, not pipe
  output, so a `sleep` or a server that only logs to stdout shows none. A reaped
  child's counts move into its parent's, so summing the live members of the
  group stays monotonic for a shell running its commands.

Everything here degrades to "no evidence" where /proc is missing or unreadable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

_PROC = "/proc"
# fdinfo's `flags` are octal open(2) flags; the access mode is the low two bits.
_ACCMODE = 0o3
# A write_bytes sample older than this says nothing about *this* change.
RECENT_SECS = 2.0


def group_members(pgids: set[int]) -> dict[int, list[int]]:
    """Live pids of each of the process groups pgids (field 5 of /proc/<pid>/stat), in one scan."""
    out: dict[int, list[int]] = {g: [] for g in pgids}
    try:
        entries = os.listdir(_PROC)
    except OSError:
        return out
    wanted = {str(g).encode(): g for g in pgids}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"{_PROC}/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces or ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and fields[2] in wanted:
            out[wanted[fields[2]]].append(int(entry))
    return out


def write_bytes(pid: int) -> int | None:
    try:
        with open(f"{_PROC}/{pid}/io", "rb") as f:
            for line in f:
                if line.startswith(b"write_bytes:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def command_line(pid: int) -> str:
    try:
        with open(f"{_PROC}/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return "?"
    parts = [p.decode(errors="replace") for p in raw.split(b"\0") if p]
    # Processes started through setpriv show it first; the command is what follows "--".
    if parts and os.path.basename(parts[0]) == "setpriv" and "--" in parts:
        parts = parts[parts.index("--") + 1:]
    text = " ".join(parts)
    if not text:
        # An exiting process (a zombie) has no command line left; its name is still there.
        try:
            with open(f"{_PROC}/{pid}/comm", encoding="utf-8", errors="replace") as f:
                text = f.read().strip() or "?"
        except OSError:
            text = "?"
    return text if len(text) <= 80 else text[:77] + "..."


def _open_for_writing(pid: int) -> list[str]:
    paths: list[str] = []
    fd_dir = f"{_PROC}/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return paths
    for fd in fds:
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if not target.startswith("/") or target.endswith(" (deleted)"):
            continue  # pipes, sockets, anon inodes, unlinked files
        try:
            with open(f"{_PROC}/{pid}/fdinfo/{fd}", encoding="ascii") as f:
                flags = next((int(line.split()[1], 8) for line in f if line.startswith("flags:")), 0)
        except (OSError, ValueError, IndexError):
            continue
        if flags & _ACCMODE in (os.O_WRONLY, os.O_RDWR):
            paths.append(target)
    return paths


@dataclass
class _Group:
    pgid: int
    # (time, summed write_bytes) of the last sample.
    sample: tuple[float, int] | None = None
    # Sizes of the files it held open for writing at the last sample.
    sizes: dict[str, int] = field(default_factory=dict)


def _file_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _sizes(open_files: tuple[tuple[int, str], ...]) -> dict[str, int]:
    return {path: size for _, path in open_files if (size := _file_size(path)) is not None}


@dataclass
class ProcessGroups:
    """The process group of each running update, registered by the runner that started it.

    Sampling is done on demand by the evidence controller; `clock` dates the samples.
    """

    clock: Callable[[], float]
    _groups: dict[int, _Group] = field(default_factory=dict)

    def started(self, update_id: int, pgid: int) -> None:
        # A new group has written (next to) nothing yet: its counter starts at 0 now.
        self._groups[update_id] = _Group(pgid, (self.clock(), 0))

    def finished(self, update_id: int) -> None:
        self._groups.pop(update_id, None)

    def pgid(self, update_id: int) -> int | None:
        g = self._groups.get(update_id)
        return g.pgid if g else None

    def observe(self, update_ids: set[int]) -> dict[int, Observation]:
        """What each update's group is writing now (one /proc scan); also a write_bytes sample.

        Growth since a recent previous sample counts: the group wrote around
        the change being checked. One observation serves every reader.
        """
        groups = {uid: g for uid, g in self._groups.items() if uid in update_ids}
        if not groups:
            return {}
        now = self.clock()
        members = group_members({g.pgid for g in groups.values()})
        out: dict[int, Observation] = {}
        for uid, g in groups.items():
            pids = members.get(g.pgid, [])
            open_files = tuple((pid, path) for pid in pids for path in _open_for_writing(pid))
            # Sizes are read on both sides of the counters, and growth is judged from the earlier
            # reading of the previous sample to the later one of this: a write landing between two
            # reads then shows in the sizes whenever it shows in the counters, so a busy server's
            # own log never passes for unexplained writing.
            before = _sizes(open_files)
            per_pid = {pid: write_bytes(pid) or 0 for pid in pids}
            total = sum(per_pid.values())
            previous, g.sample = g.sample, (now, total)
            after = _sizes(open_files)
            # Files it keeps open and appends to (a server's log file) explain its writes: those
            # that grew since the last sample, or that are not empty and new since then.
            appended = tuple(sorted(p for p, size in after.items() if size > g.sizes.get(p, 0)))
            g.sizes = before
            growth: tuple[int, int] | None = None
            if previous is not None and now - previous[0] <= RECENT_SECS and total > previous[1] and pids:
                top = max(per_pid, key=lambda p: per_pid[p])
                growth = (top, total - previous[1])
            out[uid] = Observation(open_files, growth, appended)
        return out


@dataclass(frozen=True)
class Observation:
    # (pid, absolute path) of files open for writing in the group.
    open_files: tuple[tuple[int, str], ...]
    # (pid that wrote most, bytes) written since a recent previous sample.
    growth: tuple[int, int] | None
    # Files it holds open for writing that grew since the last sample (or appeared, not empty).
    appended: tuple[str, ...] = ()

    def evidence(self, under: Callable[[str], bool], base_dir: str) -> str | None:
        """Why the group counts as a writer of the files `under` selects, or None."""
        for pid, path in self.open_files:
            if under(path):
                return f"pid {pid} `{command_line(pid)}` had {os.path.relpath(path, base_dir)} open for writing"
        # Growth that its own open files (elsewhere) account for says nothing about these files.
        if self.growth is not None and not self.appended:
            pid, grown = self.growth
            return f"pid {pid} `{command_line(pid)}` wrote {_size(grown)} to disk while these files changed"
        return None


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KiB"
