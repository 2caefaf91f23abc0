"""Logs in memory are bounded by size; a failing disk costs disk lines only, and writing resumes."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

from lockstep.logs.ring import LINE_OVERHEAD
from lockstep.logs.store import LogSource, LogStore

R = LogSource.RUNTIME


def test_memory_is_bounded_by_size_not_lines() -> None:
    budget = 1 << 20
    store = LogStore(None, per_resource_bytes=budget, global_bytes=budget, global_lines=1000,
                     max_line_chars=16 << 10)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(3000):  # 3,000 distinct lines of 65 KB: 195 MB if kept
            store.append("big", R, f"{i:06d}" + "x" * 65_000, at=float(i))
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert store.memory_bytes() <= 2 * budget
    assert held < 2 * budget, f"{held / 1e6:.1f} MB held"
    tail = store.tail("big", 10_000)
    assert tail[-1].seq == 3000 and tail[-1].text.startswith("002999")
    assert 40 <= len(tail) <= budget // (16 << 10)  # as many whole (truncated) lines as fit
    assert store.since(2990, ["big"])[-1].seq == 3000


def test_absurd_line_is_truncated_in_memory_not_on_disk(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path), max_line_chars=1000)
    huge = "y" * 5_000_000
    line = store.append("r", R, huge, at=1.0)
    assert len(line.text) < 1100 and line.text.endswith("... [4,999,000 more characters in the log file]")
    assert store.memory_bytes() < 2 * (1100 + LINE_OVERHEAD)
    assert [x.text for x in store.read_all_from_disk("r")] == [huge]
    store.close()


def test_enospc_keeps_memory_logs_reports_and_resumes(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path))
    path = Path(store.path_for("r"))
    path.symlink_to("/dev/full")  # the kernel answers every write with ENOSPC
    for i in range(5):
        store.append("r", R, f"line {i}", at=float(i))
    store.flush()  # no exception
    assert store.health.problem == "logs are not being saved: disk full"
    store.append("r", R, "still logging", at=9.0)
    store.flush()
    assert [x.text for x in store.tail("r", 100)][-1] == "still logging"
    # Space returns: the next flush writes again, and says what was lost.
    path.unlink()
    store.append("r", R, "back", at=10.0)
    store.flush()
    assert store.health.problem is None
    texts = [x.text for x in store.read_all_from_disk("r")]
    assert texts == ["[lockstep: 6 log lines were not saved here: the disk was full or failing]", "back"]
    store.close()


def test_a_line_torn_by_a_full_disk_does_not_swallow_the_next(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path))
    Path(store.path_for("r")).write_text('{"seq":1,"src":"runtime","lvl":"info","at":1.0,"text":"tor')
    store.append("r", R, "whole", at=2.0)
    store.close()
    assert [x.text for x in LogStore(str(tmp_path)).read_all_from_disk("r")] == ["whole"]
    assert os.path.getsize(store.path_for("r")) > 0


def test_disk_buffer_is_bounded_by_bytes_too(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path), flush_secs=1e9, clock=lambda: 0.0)
    for i in range(200):  # far fewer lines than the count bound, 13 MB in all
        store.append("r", R, f"{i:06d}" + "x" * 65_000, at=0.0)
    store.wait_written()  # what was handed to the writer thread (not the buffer)
    written = os.path.getsize(store.path_for("r"))
    assert written > 8 << 20, "a flood of long lines waited in memory instead of going to disk"
    store.close()
