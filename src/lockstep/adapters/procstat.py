"""What /proc says about a process: one parser for `/proc/PID/stat`, one liveness test.

Standard library only: the reaper's watchdog imports it.

`kill(pid, 0)` also succeeds for a zombie (an exited process nobody has reaped
yet, and orphaned zombies are never reaped when PID 1 is not an init, as in
containers), so "alive" means: it exists and its state is not Z.
"""

from __future__ import annotations

import os


class ProcStat:
    # A plain class, not a dataclass: the reaper's watchdog imports this module,
    # and it must start fast (it starts beside the first process lockstep runs).
    __slots__ = ("pgid", "start", "state")

    def __init__(self, state: str, pgid: int, start: int | None = None) -> None:
        self.state = state  # one letter: R, S, D, Z, T, ...
        self.pgid = pgid
        # Start time in clock ticks since boot (field 22): a reused pid has another one.
        self.start = start

    @property
    def zombie(self) -> bool:
        return self.state == "Z"


def parse_stat(raw: bytes) -> ProcStat | None:
    # The command name sits in parentheses and may itself contain spaces and
    # parentheses: the fields that follow start after the *last* ")".
    fields = raw[raw.rfind(b")") + 2 :].split()
    if len(fields) < 3:
        return None
    try:
        start = int(fields[19]) if len(fields) > 19 else None  # fields[0] is field 3 (state)
        return ProcStat(fields[0].decode("ascii", "replace"), int(fields[2]), start)
    except ValueError:
        return None


def read_stat(pid: int | str) -> ProcStat | None:
    """None when the process is gone or /proc cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return parse_stat(f.read())
    except OSError:
        return None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = read_stat(pid)
    # Unreadable /proc (not Linux): trust kill(0).
    return stat is None or not stat.zombie
