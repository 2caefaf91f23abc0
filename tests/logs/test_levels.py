"""A line's level comes from its content (prefixes, level= fields, JSON records), never from its stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lockstep.logs.levels import _WORDS, level_by_rules, level_of, looks_like_error
from lockstep.logs.store import LogLevel

E, W, N = LogLevel.ERROR, LogLevel.WARN, LogLevel.INFO


@pytest.mark.parametrize(("text", "level"), [
    ("ERROR: yaml: line 3: mapping values are not allowed", E),
    ("error: cannot find symbol", E),
    ("[WARN] deprecated flag", W),
    ("WARNING:root:disk almost full", W),
    ("INFO:root:listening on :8080", N),           # Python's logging writes this to stderr: still info
    ("2024-01-01 12:00:00,123 - app - ERROR - boom", E),
    ("2024-01-01T12:00:00Z warn something odd", W),
    ("time=2024 level=error msg=\"db down\"", E),
    ("lvl=warn msg=slow", W),
    ('{"level": "error", "msg": "x"}', E),
    ('{"severity": "WARNING", "message": "x"}', W),
    ('{"level": "info", "msg": "error count is 0"}', N),
    ("E1130 12:00:00.000000       1 reflector.go:1] failed", E),
    ("W1130 12:00:00.000000       1 x.go:1] slow", W),
    ("Traceback (most recent call last):", E),
    ("ModuleNotFoundError: No module named 'yaml'", E),
    ("yaml.scanner.ScannerError: mapping values are not allowed here", E),
    ("java.lang.NullPointerException", E),
    ("src/main.c:3:5: error: 'x' undeclared", E),
    ("src/main.c:9:1: warning: unused variable", W),
    ("\x1b[31mERROR\x1b[0m something", E),
    ("no error found, all good", N),               # prose is not a level
    ('Running cmd: echo "ERROR: x" 1>&2', N),      # a quoted word is not the line's level
    ("GET /api/items 200 in 3 ms", N),
    ("", N),
])
def test_level_of(text: str, level: LogLevel) -> None:
    assert level_of(text) is level


def test_errorish_lines_for_excerpts() -> None:
    assert looks_like_error("ModuleNotFoundError: No module named 'yaml'")
    assert looks_like_error("sh: 1: nosuchcmd: not found")
    assert not looks_like_error("compiling 3 files")


# Pieces that the rules look for, and near misses, for random lines to be built from.
_PIECES = ["ERROR", "error", "Err", "WARN", "warning", "fatal", "CRIT", "panic", "emerg", "alert", "severe", "sever",
           "failed", "Failure", "Exception", "ValueError", "Traceback (most recent call last)", "level=", "LVL=",
           "severity=", "\u017feverity=", "{", "}", '"level": "error"', '"\\u0065rror"', "E1130 12:00:00", "W0101 ",
           "F1231 23:59:59", "\x1b[31m", "\x1b[0m", "2024-01-01 12:00:00 ", "[", "]", ":", " | ", " - ", " ", "\t",
           "\n", "\xa0", "x.c:3:5: ", "Running cmd: true", "Update #3 starting", "é", "\u212a"]


@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=6)), max_size=8).map("".join))
def test_the_shortcut_gives_the_rules_answer(text: str) -> None:
    assert level_of(text) is level_by_rules(text)


@pytest.mark.parametrize("word", sorted(_WORDS))
@pytest.mark.parametrize("shape", ["{w}: x", "[{w}] x", "x level={w}", "x {W} y", "{W}"])
def test_the_shortcut_knows_every_level_word(word: str, shape: str) -> None:
    text = shape.format(w=word, W=word.upper())
    assert level_of(text) is level_by_rules(text)
