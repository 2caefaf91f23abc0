"""The run log against a reference: every line, in order, byte-for-byte the same record, and every page
read through the index equal to the page of a reference list."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.logs import runfile
from lockstep.logs.lastrun import read_run
from lockstep.logs.pager import lines_before
from lockstep.logs.store import LogLevel, LogSource, LogStore, LogStream

_TEXTS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["Running cmd: true", "Update #1 starting: Initial Build", 'quote " and \\ back', "multi\nline",
                     "tab\there", "\ud800 lone surrogate", "🚀 non-ASCII é", "x" * 300]),
)
_NAMES = ["a", "b/c", "d e", "🚀", "\x1f680", 'q"uote', "r0_1", "r1_2", "r2_3", "\ud800"]
_APPEND = st.tuples(st.sampled_from(_NAMES),
                    st.sampled_from(list(LogSource)), st.sampled_from(list(LogLevel)),
                    st.sampled_from(list(LogStream)), _TEXTS,
                    st.floats(allow_nan=False, allow_infinity=False, width=64))
# Between appends: nothing, a hand-off to the writer (the periodic flush) or a flush that waits.
_OPS = st.lists(st.one_of(_APPEND, st.sampled_from(["hand-off", "flush"])), max_size=80)


def _reference_record(seq: int, res: str, src: LogSource, lvl: LogLevel, at: float, stream: LogStream,
                      text: str) -> dict:
    return {"seq": seq, "res": res, "src": src.value, "lvl": lvl.value, "at": at, "str": stream.value, "text": text}


@settings(max_examples=150, deadline=None)
@given(_OPS, st.integers(1, 4), st.integers(1, 6), st.integers(1, 40), st.data())
def test_run_log_holds_every_line_in_order_and_pages_like_a_list(
    ops: list, max_extents: int, ring: int, limit: int, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as d, mock.patch.object(runfile, "MAX_EXTENTS", max_extents):
        # max_line_chars small: memory truncates, the disk must not. Small rings: pages come from disk.
        store = LogStore(d, max_line_chars=50, per_resource_lines=ring, global_lines=ring * 3, clock=lambda: 0.0)
        expected: dict[str, list[dict]] = {}
        for op in ops:
            if op == "hand-off":
                store._hand_off()
            elif op == "flush":
                store.flush()
            else:
                resource, src, lvl, stream, text, at = op
                line = store.append(resource, src, text, at, lvl, stream)
                expected.setdefault(resource, []).append(
                    _reference_record(line.seq, resource, src, lvl, at, stream, text))
        # Scroll-back through the index (memory first, then disk) equals paging the reference list.
        for resource, recs in expected.items():
            before = data.draw(st.integers(0, store.checkpoint + 2), label=f"before {resource!r}")
            older = [r for r in recs if r["seq"] < before]
            page = lines_before(store, [resource], before, limit)
            assert [(x.seq, x.at, x.source.value) for x in page] == [
                (r["seq"], r["at"], r["src"]) for r in older[-limit:]]
            # Lines that memory cut are whole when they come from disk; the others are whole anyway.
            assert all(x.text == r["text"] or x.text.endswith("more characters in the log file]")
                       for x, r in zip(page, older[-limit:], strict=True))
            # All of it, page by page backwards, as the dashboard scrolls.
            got: list[int] = []
            cursor = store.checkpoint + 1
            while True:
                chunk = lines_before(store, [resource], cursor, limit)
                got[:0] = [x.seq for x in chunk]
                if len(chunk) < limit:
                    break
                cursor = chunk[0].seq
            assert got == [r["seq"] for r in recs]
        store.close()
        raw = Path(str(store.run_path)).read_bytes() if expected else b""
        assert raw.endswith(b"\n") or not expected
        on_disk = [json.loads(x) for x in raw.splitlines()]
        grouped: dict[str, list[dict]] = {}
        for rec in on_disk:
            grouped.setdefault(rec["res"], []).append(rec)
        assert grouped == expected
        # What the readers (`logs` without an engine, the API's scroll-back) rebuild from it.
        for resource, recs in expected.items():
            want = [(r["seq"], r["text"], r["at"]) for r in recs]
            assert [(x.seq, x.text, x.at) for x in store.read_all_from_disk(resource)] == want
            assert [(x.seq, x.text, x.at) for x in read_run(str(store.run_path), [resource])] == want
        everything = read_run(str(store.run_path)) if expected else []
        assert [x.seq for x in everything] == sorted(r["seq"] for recs in expected.values() for r in recs)


def test_a_batch_is_one_contiguous_run_per_resource_and_a_flood_one_extent(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path), clock=lambda: 0.0)
    for i in range(100):
        store.append("a" if i % 2 else "b", LogSource.RUNTIME, str(i), 0.0)
    store.flush()
    res = [json.loads(x)["res"] for x in Path(str(store.run_path)).read_bytes().splitlines()]
    assert res == ["b"] * 50 + ["a"] * 50
    assert store._run is not None and store._run.extents("a") == 1
    # A server flooding alone: its batches follow one another in the file, so they stay one extent.
    for k in range(20):
        for i in range(300):
            store.append("flood", LogSource.RUNTIME, f"{k} {i}", 0.0)
        store.flush()
    assert store._run.extents("flood") == 1
    store.close()


def test_extents_stay_bounded_and_pages_stay_right(tmp_path: Path) -> None:
    with mock.patch.object(runfile, "MAX_EXTENTS", 8):
        store = LogStore(str(tmp_path), per_resource_lines=2)
        for k in range(100):  # 100 batches in which "r" and "s" alternate: 100 extents each unbounded
            store.append("r", LogSource.RUNTIME, f"r{k}", 0.0)
            store.append("s", LogSource.RUNTIME, f"s{k}", 0.0)
            store.flush()
        assert store._run is not None and store._run.extents("r") <= 8
        page = lines_before(store, ["r"], store.tail("r", 2)[0].seq, 10)
        assert [x.text for x in page] == [f"r{k}" for k in range(88, 98)]
        assert [x.text for x in store.read_all_from_disk("r")] == [f"r{k}" for k in range(100)]
        store.close()


def test_plain_lines_are_written_as_before(tmp_path: Path) -> None:
    """The record of an ordinary line, exactly (the run log's format, README "State")."""
    store = LogStore(str(tmp_path))
    store.append("api", LogSource.BUILD, 'say "hi" é', 1.5, LogLevel.WARN, LogStream.STDERR)
    store.close()
    assert Path(str(store.run_path)).read_bytes() == (
        '{"seq":1,"res":"api","src":"build","lvl":"warn","at":1.5,"str":"err","text":"say \\"hi\\" é"}\n'.encode()
    )
