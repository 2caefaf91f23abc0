"""Failure excerpts: the lines of a failed update that say why, from the log store."""

from __future__ import annotations

from pathlib import Path

from lockstep.logs.store import LogSource, LogStore, LogStream
from lockstep.ui.excerpt import Excerpts, excerpt_of, headline, run_lines


def test_error_lines_are_preferred_to_the_last_lines() -> None:
    lines = ["compiling", "ERROR: yaml: line 3: mapping values are not allowed", "cleanup", "done"]
    assert excerpt_of(lines) == ["ERROR: yaml: line 3: mapping values are not allowed"]


def test_without_error_lines_the_last_ones() -> None:
    lines = [f"step {i}" for i in range(20)]
    assert excerpt_of(lines) == [f"step {i}" for i in range(15, 20)]


def test_first_and_last_errors_ansi_stripped_and_capped() -> None:
    lines = ["a.c:1:1: error: first", *[f"b.c:{i}:1: error: e{i}" for i in range(10)], "\x1b[31mfatal: " + "x" * 400]
    ex = excerpt_of(lines)
    assert ex[0] == "a.c:1:1: error: first" and len(ex) == 5
    assert ex[-1].startswith("fatal: ") and len(ex[-1]) == 300 and "\x1b" not in ex[-1]


def test_headline_skips_build_tool_wrappers() -> None:
    assert headline(["x.c:3: error: boom", "make: *** [Makefile:2: all] Error 1"]) == "x.c:3: error: boom"
    assert headline([]) == ""


def test_run_lines_only_this_update_and_not_lockstep_own(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path), per_resource_lines=50)
    store.append("r", LogSource.BUILD, "earlier run", 1.0)
    store.append("r", LogSource.BUILD, "Running cmd: make", 10.0)
    store.append("r", LogSource.BUILD, "NameError: name 'x' is not defined", 10.5, stream=LogStream.STDERR)
    store.append("r", LogSource.RUNTIME, "server chatter", 10.6)
    store.append("r", LogSource.BUILD, "Update #2 failed: cmd exited with code 1", 11.0)
    assert run_lines(store, "r", 10.0, 11.0) == ["NameError: name 'x' is not defined"]


def test_excerpt_found_on_disk_after_a_chatty_runtime_pushed_it_out_of_memory(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path), per_resource_lines=100)
    store.append("r", LogSource.BUILD, "Error: missing symbol foo", 10.0)
    for i in range(1000):
        store.append("r", LogSource.RUNTIME, f"GET / {i}", 10.2 + i / 1000)
    ex = Excerpts(store)
    assert ex.get("r", 7, 9.9, 10.1) == ["Error: missing symbol foo"]
    view = {"name": "r", "last": {"id": 7, "result": "failed", "start": 9.9, "end": 10.1}}
    assert ex.add_to(view)["excerpt"] == ["Error: missing symbol foo"]
    assert ex.add_to({"name": "r", "last": {"id": 8, "result": "ok", "start": 1, "end": 2}})["excerpt"] == []
