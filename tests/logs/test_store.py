"""LogStore: checkpoints, bounds, disk completeness, subscriptions."""

from __future__ import annotations

import os

from lockstep.logs import LogLevel, LogLine, LogSource, LogStore

B, R, S = LogSource.BUILD, LogSource.RUNTIME, LogSource.SYSTEM


def test_seq_is_global_and_since_pages_by_checkpoint() -> None:
    store = LogStore(None)
    lines = [store.append(f"r{i % 3}", B, f"line {i}", at=float(i)) for i in range(10)]
    assert [ln.seq for ln in lines] == list(range(1, 11))
    assert store.checkpoint == 10
    assert [ln.text for ln in store.since(7)] == ["line 7", "line 8", "line 9"]
    assert store.since(10) == []
    # Paging: follow the last seq.
    page1 = store.since(0, limit=4)
    page2 = store.since(page1[-1].seq, limit=4)
    assert [ln.seq for ln in page1 + page2] == list(range(1, 9))


def test_since_filtered_by_resources_merges_in_seq_order() -> None:
    store = LogStore(None)
    for i in range(12):
        store.append(f"r{i % 3}", B, str(i), at=0.0)
    got = store.since(2, resources=["r0", "r2", "missing"])
    assert [ln.text for ln in got] == ["2", "3", "5", "6", "8", "9", "11"]  # seq = i + 1
    assert [ln.text for ln in store.since(0, resources={"r1"}, limit=2)] == ["1", "4"]


def test_memory_bounds() -> None:
    store = LogStore(None, per_resource_lines=5, global_lines=20)
    for i in range(100):
        store.append("noisy" if i % 10 else "quiet", R, str(i), at=0.0)
    assert len(store.since(0)) == 20
    assert [ln.seq for ln in store.since(0)] == list(range(81, 101))
    # Each resource keeps its own last lines, even the ones the global ring dropped.
    assert [ln.text for ln in store.tail("quiet", 100)] == ["50", "60", "70", "80", "90"]
    assert [ln.text for ln in store.since(0, resources=["quiet"])] == ["50", "60", "70", "80", "90"]
    assert len(store.tail("noisy", 100)) == 5
    assert [ln.text for ln in store.tail(None, 2)] == ["98", "99"]
    assert store.tail("nobody", 3) == []


def test_disk_is_complete(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = LogStore(str(tmp_path), per_resource_lines=3, global_lines=5)
    for i in range(50):
        store.append(
            "api/server:1",
            R,
            f'out {i}\twith tab and "quotes" and ünïcode',
            at=i / 2,
            level=LogLevel.ERROR if i == 7 else LogLevel.INFO,
        )
    store.append("ui", S, "multi\nline", at=99.0, level=LogLevel.WARN)
    # Readable before close (flushes), complete despite the tiny memory bounds.
    lines = list(store.read_all_from_disk("api/server:1"))
    assert [ln.seq for ln in lines] == list(range(1, 51))
    text = 'out 7\twith tab and "quotes" and ünïcode'
    assert lines[7] == LogLine(8, "api/server:1", R, LogLevel.ERROR, 3.5, text)
    store.close()
    assert list(store.read_all_from_disk("ui")) == [LogLine(51, "ui", S, LogLevel.WARN, 99.0, "multi\nline")]
    # One file for the run, whatever the number of resources.
    assert os.listdir(tmp_path) == [os.path.basename(str(store.run_path))]
    assert list(store.read_all_from_disk("never")) == []


def test_periodic_flush_on_append(tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = [0.0]
    store = LogStore(str(tmp_path), flush_secs=1.0, clock=lambda: now[0])
    for i in range(255):
        store.append("r", B, str(i), at=0.0)
    path = str(store.run_path)
    store.wait_written()
    assert not os.path.exists(path)  # buffered
    now[0] = 5.0
    store.append("r", B, "255", at=0.0)  # the 256th append checks the clock
    store.wait_written()  # (written on the writer thread)
    with open(path) as f:
        assert len(f.readlines()) == 256
    store.close()


def test_subscribe_and_unsubscribe() -> None:
    store = LogStore(None)
    seen: list[int] = []

    def broken(line: LogLine) -> None:
        raise RuntimeError("viewer bug")

    unsubscribe = store.subscribe(lambda ln: seen.append(ln.seq))
    store.subscribe(broken)
    store.append("r", B, "a", at=0.0)
    unsubscribe()
    unsubscribe()  # idempotent
    store.append("r", B, "b", at=0.0)
    assert seen == [1]


def test_no_directory_no_run_file() -> None:
    store = LogStore(None)
    store.append("r", B, "memory only", at=0.0)
    assert store.run_path is None and list(store.read_all_from_disk("r")) == []


def test_last_lines_of_several_resources_together() -> None:
    store = LogStore(None)
    for i in range(6):
        store.append("ab"[i % 2] if i < 4 else "c", LogSource.BUILD, f"line {i}", float(i))
    assert [x.text for x in store.last(3, ["a", "b"])] == ["line 1", "line 2", "line 3"]
    assert [x.text for x in store.last(2)] == ["line 4", "line 5"]
    assert store.last(0, ["a"]) == [] and store.last(0) == []
    assert [x.text for x in store.tail("c", 5)] == ["line 4", "line 5"]


def test_a_resource_that_logs_little_holds_a_small_ring_that_grows_in_order() -> None:
    store = LogStore(None, per_resource_lines=1000, global_lines=5000)
    store.append("quiet", R, "only", at=0.0)
    ring = store._by_resource["quiet"]
    assert len(ring._buf) <= 8
    for i in range(40):
        store.append("busy", R, str(i), at=0.0)
    assert [ln.text for ln in store.tail("busy", 100)] == [str(i) for i in range(40)]
    assert [ln.text for ln in store.tail("quiet", 5)] == ["only"]


def test_many_resources_write_one_file_one_write_per_batch(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from lockstep.logs import runfile

    writes: list[int] = []
    real_write, real_writev = os.write, os.writev

    def counting_write(fd: int, data: bytes) -> int:
        writes.append(len(data))
        return real_write(fd, data)

    def counting_writev(fd: int, buffers: list[bytes]) -> int:
        writes.append(sum(map(len, buffers)))
        return real_writev(fd, buffers)

    monkeypatch.setattr(runfile.os, "write", counting_write)
    monkeypatch.setattr(runfile.os, "writev", counting_writev)
    store = LogStore(str(tmp_path))
    names = [f"r{i}" for i in range(1500)]  # more than one writev takes: one joined write instead
    for round_ in range(3):
        for n in names:
            store.append(n, R, f"{n} line {round_}", at=0.0)
        store.flush()
    assert len(writes) == 3  # one per batch, not one per resource
    for n in names:
        assert [ln.text for ln in store.read_all_from_disk(n)] == [f"{n} line {k}" for k in range(3)]
    store.close()
    assert os.listdir(tmp_path) == [os.path.basename(str(store.run_path))]


def test_appends_do_not_wait_for_the_disk(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Creating the log file (a millisecond on a real disk) happens on the writer thread, not in append."""
    import threading

    gate = threading.Event()
    writers: list[str] = []
    from lockstep.logs import runfile

    real_open = runfile.open_append_fd

    def slow_open(path):  # type: ignore[no-untyped-def]
        writers.append(threading.current_thread().name)
        assert gate.wait(30), "the test never opened the gate"
        return real_open(path)

    monkeypatch.setattr(runfile, "open_append_fd", slow_open)
    store = LogStore(str(tmp_path), flush_secs=1.0, clock=lambda: 0.0)
    for i in range(256):  # the 256th append hands the buffer to the writer
        store.append(f"r{i % 4}", B, str(i), at=0.0)
    # append returned while the disk is blocked; memory already has every line.
    assert [ln.text for ln in store.tail("r0", 2)] == ["248", "252"]
    gate.set()
    store.flush()
    assert writers and all(name.startswith("lockstep-logs") for name in writers)
    assert [ln.text for ln in store.read_all_from_disk("r3")][-1] == "255"
    store.close()


def test_run_file_is_named_by_start_time_in_the_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lockstep.logs.runfile import run_name

    for directory in (str(tmp_path), str(tmp_path) + "/", str(tmp_path) + "/./logs"):
        store = LogStore(directory)
        assert store.run_path == os.path.join(directory, os.path.basename(str(store.run_path)))
        assert os.path.basename(str(store.run_path)).startswith("run-")
    names = [run_name(t, pid) for t, pid in ((1e9, 99999), (1e9 + 0.5, 1), (1e9 + 1, 7), (2e9, 1))]
    assert names == sorted(names)
    assert run_name(1764544500.25, 42) == "run-20251130T231500.250000Z-42.jsonl"


def test_a_run_keeps_the_newest_runs_and_leaves_old_format_files_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lockstep.logs.runfile import KEEP_RUNS, run_files, run_name

    older = [run_name(1e9 + i, 100 + i) for i in range(KEEP_RUNS + 5)]
    for name in older:
        (tmp_path / name).write_text("")
    (tmp_path / "web.jsonl").write_text('{"seq":1,"src":"runtime","lvl":"info","at":1.0,"text":"old format"}\n')
    store = LogStore(str(tmp_path))
    assert run_files(str(tmp_path)) == sorted(older)  # nothing happens before the run writes
    store.append("r", B, "x", at=0.0)
    store.close()
    kept = run_files(str(tmp_path))
    assert len(kept) == KEEP_RUNS and kept[-1] == os.path.basename(str(store.run_path))
    assert kept[:-1] == sorted(older)[-(KEEP_RUNS - 1):]
    assert (tmp_path / "web.jsonl").exists()
