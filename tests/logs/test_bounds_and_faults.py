"""Logs in memory are bounded by size; a failing disk costs disk lines only, and writing resumes."""

from __future__ import annotations

import errno
import os
import tracemalloc
from pathlib import Path

from lockstep.logs import records, runfile
from lockstep.logs.lastrun import newest_run, read_run
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
    path = Path(str(store.run_path))
    path.symlink_to("/dev/full")  # the kernel answers every write with ENOSPC
    for i in range(5):
        store.append("r", R, f"line {i}", at=float(i))
        store.append("q", R, f"q line {i}", at=float(i))
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
    # Each resource's note counts its own lines, and comes with its next lines.
    assert list(store.read_all_from_disk("q")) == []
    store.append("q", R, "q back", at=11.0)
    store.close()
    texts = [x.text for x in store.read_all_from_disk("q")]
    assert texts == ["[lockstep: 5 log lines were not saved here: the disk was full or failing]", "q back"]
    assert [x.text for x in read_run(str(path))] == [
        "[lockstep: 6 log lines were not saved here: the disk was full or failing]", "back",
        "[lockstep: 5 log lines were not saved here: the disk was full or failing]", "q back"]


def test_a_write_torn_part_way_keeps_whole_lines_counts_the_rest(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A disk that fills in the middle of a batch: the lines that went out whole stay readable, the torn
    one is skipped, the rest are counted in the gap note, and the next write starts on a new line."""
    store = LogStore(str(tmp_path))
    store.append("a", R, "a0", at=0.0)
    store.flush()
    room = [0]
    real_write = os.write

    def filling_write(fd: int, data: bytes) -> int:
        if room[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        done = real_write(fd, bytes(data)[: room[0]])
        room[0] -= done
        return done

    monkeypatch.setattr(runfile.os, "write", filling_write)
    monkeypatch.setattr(runfile.os, "writev", lambda fd, buffers: filling_write(fd, b"".join(buffers)))
    for i in range(1, 4):
        store.append("a", R, f"a{i}", at=0.0)
    for i in range(3):
        store.append("b", R, f"b{i}", at=0.0)
    # All of a's three lines, b's first line whole and half of its second.
    room[0] = len(records.encode("a", store.tail("a", 3))) + len(records.encode("b", store.tail("b", 3)[:1])) + 20
    store.flush()
    assert store.health.problem == "logs are not being saved: disk full"
    monkeypatch.undo()
    store.append("b", R, "b3", at=0.0)
    store.close()
    assert [x.text for x in store.read_all_from_disk("a")] == ["a0", "a1", "a2", "a3"]
    assert [x.text for x in store.read_all_from_disk("b")] == [
        "b0", "[lockstep: 2 log lines were not saved here: the disk was full or failing]", "b3"]
    assert [x.text for x in read_run(str(store.run_path), ["b"])] == [x.text for x in store.read_all_from_disk("b")]
    assert store.health.problem is None


def test_a_line_torn_by_a_crash_does_not_swallow_the_next(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path))
    # A file of this name already ends in a torn line (a crash): the run's first write starts a new line.
    Path(str(store.run_path)).write_text('{"seq":1,"res":"r","src":"runtime","lvl":"info","at":1.0,"text":"tor')
    store.append("r", R, "whole", at=2.0)
    store.close()
    assert [x.text for x in store.read_all_from_disk("r")] == ["whole"]
    assert [x.text for x in read_run(str(store.run_path))] == ["whole"]


def test_a_crashed_runs_torn_last_line_is_skipped_and_the_next_run_writes_its_own_file(tmp_path: Path) -> None:
    crashed = LogStore(str(tmp_path))
    crashed.append("r", R, "before the crash", at=1.0)
    crashed.flush()  # on disk; then the process dies in the middle of its next write
    with open(str(crashed.run_path), "ab") as f:
        f.write(b'{"seq":2,"res":"r","src":"runtime","lvl":"info","at":1.0,"text":"tor')
    assert [x.text for x in read_run(str(crashed.run_path))] == ["before the crash"]
    following = LogStore(str(tmp_path))
    following.append("r", R, "next run", at=2.0)
    following.close()
    assert following.run_path != crashed.run_path
    assert newest_run(str(tmp_path)) == following.run_path
    assert [x.text for x in read_run(str(following.run_path))] == ["next run"]


def test_disk_buffer_is_bounded_by_bytes_too(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path), flush_secs=1e9, clock=lambda: 0.0)
    for i in range(200):  # far fewer lines than the count bound, 13 MB in all
        store.append("r", R, f"{i:06d}" + "x" * 65_000, at=0.0)
    store.wait_written()  # what was handed to the writer thread (not the buffer)
    written = os.path.getsize(str(store.run_path))
    assert written > 8 << 20, "a flood of long lines waited in memory instead of going to disk"
    store.close()
