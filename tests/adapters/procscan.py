"""Find live processes by an environment marker, via /proc (Linux only)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def marked_pids(marker: str) -> set[int]:
    """Live (non-zombie) processes whose environment contains `marker`."""
    needle = marker.encode()
    found: set[int] = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            if stat[stat.rfind(b")") + 2 :].split()[0] == b"Z":
                continue
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle in f.read():
                    found.add(int(name))
        except OSError:
            continue
    return found


def wait_until(pred: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Bounded polling on a state predicate (not a timing assumption)."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
