"""Find live processes by an environment marker, via /proc (Linux only)."""

from __future__ import annotations

import os


def marked_pids(marker: str) -> set[int]:
    """Live (non-zombie) processes whose environment contains `marker`.

    Tests put a unique marker into the environment of what they start; every
    descendant inherits it, so this finds all of them, orphans included."""
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
