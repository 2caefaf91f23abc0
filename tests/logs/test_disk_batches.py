"""Batched disk writes against a reference: every line, in order, byte-for-byte the same record."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.logs import store as store_mod
from lockstep.logs.store import LogLevel, LogSource, LogStore, LogStream

_TEXTS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["Running cmd: true", "Update #1 starting: Initial Build", 'quote " and \\ back', "multi\nline",
                     "tab\there", "\ud800 lone surrogate", "🚀 non-ASCII é", "x" * 300]),
)
_APPEND = st.tuples(st.sampled_from(["a", "b/c", "d e", "🚀", "r0_1", "r1_2", "r2_3"]),
                    st.sampled_from(list(LogSource)), st.sampled_from(list(LogLevel)),
                    st.sampled_from(list(LogStream)), _TEXTS,
                    st.floats(allow_nan=False, allow_infinity=False, width=64))
# Between appends: nothing, a hand-off to the writer (the periodic flush) or a flush that waits.
_OPS = st.lists(st.one_of(_APPEND, st.sampled_from(["hand-off", "flush"])), max_size=60)


def _reference_record(seq: int, src: LogSource, lvl: LogLevel, at: float, stream: LogStream, text: str) -> dict:
    return {"seq": seq, "src": src.value, "lvl": lvl.value, "at": at, "str": stream.value, "text": text}


@settings(max_examples=150, deadline=None)
@given(_OPS, st.integers(1, 3))
def test_disk_holds_every_line_in_order_whatever_the_batching(ops: list, open_files: int) -> None:
    with tempfile.TemporaryDirectory() as d, mock.patch.object(store_mod, "_OPEN_FILES", open_files):
        # max_line_chars small: memory truncates, the disk must not.
        store = LogStore(d, max_line_chars=50, clock=lambda: 0.0)
        expected: dict[str, list[dict]] = {}
        for op in ops:
            if op == "hand-off":
                store._hand_off()
            elif op == "flush":
                store.flush()
                assert len(store._files) <= open_files
            else:
                resource, src, lvl, stream, text, at = op
                line = store.append(resource, src, text, at, lvl, stream)
                expected.setdefault(resource, []).append(_reference_record(line.seq, src, lvl, at, stream, text))
        store.close()
        assert sorted(os.listdir(d)) == sorted(Path(store.path_for(r)).name for r in expected)
        for resource, records in expected.items():
            raw = Path(store.path_for(resource)).read_bytes()
            assert raw.endswith(b"\n")
            assert [json.loads(x) for x in raw[:-1].split(b"\n")] == records
            # What the readers (`logs`, the API's scroll-back) rebuild from it.
            again = list(LogStore(d).read_all_from_disk(resource))
            assert [(x.seq, x.text, x.at) for x in again] == [(r["seq"], r["text"], r["at"]) for r in records]


def test_plain_lines_are_written_as_before(tmp_path: Path) -> None:
    """The record of an ordinary line, exactly: readers of older files and newer ones see one format."""
    store = LogStore(str(tmp_path))
    store.append("api", LogSource.BUILD, 'say "hi" é', 1.5, LogLevel.WARN, LogStream.STDERR)
    store.close()
    assert Path(store.path_for("api")).read_bytes() == (
        '{"seq":1,"src":"build","lvl":"warn","at":1.5,"str":"err","text":"say \\"hi\\" é"}\n'.encode()
    )
