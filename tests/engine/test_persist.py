"""Corrupt state files never brick startup: readers skip and report, writers heal, bad files move aside."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from lockstep.engine.persist import HISTORY, INFERRED, StateFiles, load_inferred, read_history
from lockstep.model.update import Reason, ReasonKind, UpdateRecord, UpdateResult


def record(rid: int, resource: str = "chat") -> UpdateRecord:
    return UpdateRecord(id=rid, resource=resource, reasons=(Reason(ReasonKind.INITIAL),), start=1.0, end=2.0,
                        result=UpdateResult.SUCCEEDED)


def line(rid: int) -> bytes:
    return json.dumps(record(rid).to_json()).encode() + b"\n"


def test_bad_bytes_and_a_torn_last_line_are_skipped_and_the_next_record_survives(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / HISTORY).write_bytes(line(1) + b"\xff\xfe oops\n" + line(2) + b'{"id": 50, "resource": "chat')
    with caplog.at_level(logging.WARNING):
        assert [r.id for r in read_history(tmp_path)] == [1, 2]
    assert "skipped 2 unreadable line(s) (line 2, 4)" in caplog.text
    files = StateFiles(tmp_path)
    files.append_update(record(51))
    files.close()
    # The torn line stays torn (and skipped); the new record starts a line of its own.
    assert [r.id for r in read_history(tmp_path)] == [1, 2, 51]


@pytest.mark.parametrize("content", [b"5", b"null", b"\xff", b'{"a": 1}', b'[["a"]]', b"[" * 100_000])
def test_corrupt_inferred_json_is_moved_aside_with_one_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / INFERRED).write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert load_inferred(tmp_path) == frozenset()
    assert len(caplog.records) == 1 and "is corrupt" in caplog.text
    (aside,) = tmp_path.glob(f"{INFERRED}.corrupt-*")
    assert aside.read_bytes() == content and not (tmp_path / INFERRED).exists()
    StateFiles.write_inferred(tmp_path, frozenset({("a", "b")}))
    assert load_inferred(tmp_path) == frozenset({("a", "b")})


def test_records_name_the_graph_instead_of_listing_their_transitive_upstreams(tmp_path: Path) -> None:
    """A record whose upstreams are its closure refers to a graph line; the reader rebuilds the same set."""
    from dataclasses import replace

    from engine_sim import config, loaded_action, local

    from lockstep.engine.recorder import Recorder
    from lockstep.engine.scheduler import Decision
    from lockstep.store import actions as A
    from lockstep.store.reducers import reduce
    from lockstep.store.state import EngineState

    chain = [local("a"), local("b", ups=("a",)), local("c", ups=("b",)), local("d", ups=("b",))]
    state = reduce(EngineState(), loaded_action(config(*chain), 0.0))
    recorder = Recorder(tmp_path)
    for i, n in enumerate("abcd", 1):
        state = reduce(state, A.UpdateStarted(i, n, float(i)))
        state = reduce(state, A.UpdateFinished(i, n, True, i + 0.5))
        recorder.record(state, Decision())
    # Upstreams that are not the closure (as with a disabled inferred upstream) are listed.
    odd = replace(state.history[-1], id=9, upstreams=frozenset({"a"}))
    state = replace(state, history=(*state.history, odd), finished_total=state.finished_total + 1)
    recorder.record(state, Decision())
    recorder.close(state, 10.0)
    lines = [json.loads(raw) for raw in (tmp_path / HISTORY).read_text().splitlines()]
    assert [("ups" in d, "upstreams" in d) for d in lines] == [(True, False)] + [(False, False)] * 4 + [(False, True)]
    got = {r.id: set(r.upstreams) for r in read_history(tmp_path)}
    assert got == {1: set(), 2: {"a"}, 3: {"a", "b"}, 4: {"a", "b"}, 9: {"a"}}
