"""One parser for /proc/PID/stat, one liveness test (zombies count as gone)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lockstep.adapters.procstat import parse_stat, process_alive, read_stat


def test_parse_stat_survives_parentheses_and_spaces_in_the_name() -> None:
    stat = parse_stat(b"123 (a) b (c)) Z 1 4242 4242 0 -1")
    assert stat is not None and stat.zombie and stat.pgid == 4242
    assert parse_stat(b"garbage") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_a_zombie_is_not_alive_and_a_running_process_is() -> None:
    assert process_alive(os.getpid())
    stat = read_stat(os.getpid())
    assert stat is not None and stat.pgid == os.getpgrp()
    child = subprocess.Popen(["true"])
    # Not reaped yet: a zombie once it has exited. Wait on /proc, not a timer.
    for _ in range(100_000):
        s = read_stat(child.pid)
        if s is not None and s.zombie:
            break
    assert not process_alive(child.pid)
    child.wait()
    assert not process_alive(child.pid)


def test_the_start_time_is_field_22() -> None:
    raw = b"7 (x) S " + b" ".join(str(n).encode() for n in range(4, 30))
    stat = parse_stat(raw)
    assert stat is not None and stat.pgid == 5 and stat.start == 22
