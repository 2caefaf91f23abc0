"""The level of a line of command output, read from its content, never from its stream.

Python's logging writes INFO to stderr and plenty of tools print `ERROR:` on
stdout, so the stream says nothing about severity. What does: a leading level
word (`ERROR:`, `[warn]`, `W1130 12:00:00` as klog writes it), a `level=` field
(logfmt), or a JSON record's `level`/`severity` key. Anything else is info.
"""

from __future__ import annotations

import json
import re

from lockstep.logs.store import LogLevel

_WORDS: dict[str, LogLevel] = {
    "error": LogLevel.ERROR, "err": LogLevel.ERROR, "fatal": LogLevel.ERROR, "critical": LogLevel.ERROR,
    "crit": LogLevel.ERROR, "panic": LogLevel.ERROR, "emerg": LogLevel.ERROR, "alert": LogLevel.ERROR,
    "severe": LogLevel.ERROR, "failed": LogLevel.ERROR, "failure": LogLevel.ERROR, "exception": LogLevel.ERROR,
    "warn": LogLevel.WARN, "warning": LogLevel.WARN,
}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A level word at the start, optionally after a timestamp, a bracket or a logger name:
# "ERROR: x", "[WARN] x", "2024-01-01 12:00:00 ERROR x", "12:00:01 | warning | x", "E: x" is not enough.
_PREFIX = re.compile(
    r"^\s*(?:[\d\-T:.,/+Z ]{8,}\s*[|\-]?\s*)?[\[(<]?\s*(?P<w>[A-Za-z]{3,9})\s*[\])>]?\s*(?:[:|\-\]]|\s)",
)
_FIELD = re.compile(r"(?:^|\s)(?:level|lvl|severity)=\"?(?P<w>[A-Za-z]+)", re.IGNORECASE)
# An upper-case level word near the start ("2024-01-01 12:00:00,1 - app - ERROR - boom"); upper case only, so
# that prose ("no error found") does not count.
_UPPER = re.compile(r"(?:^|(?<=[\s\[|(<-]))(?P<w>ERROR|ERR|FATAL|CRITICAL|PANIC|WARN|WARNING)(?=[\s\]|:>)-]|$)")
# klog / glog: "E1130 12:00:00.000000 ..." and "W1130 ...".
_KLOG = re.compile(r"^(?P<c>[EWF])\d{4} \d\d:\d\d:\d\d")
# Python tracebacks and compiler diagnostics ("file.c:3:5: error: ...").
_TRACEBACK = re.compile(
    r"^Traceback \(most recent call last\)|^\S+:\d+(?::\d+)?: (?P<w>error|warning|fatal error)\b"
    # The last line of a Python traceback, a Java/JS exception: "yaml.scanner.ScannerError: ...".
    r"|^[A-Za-z_][\w.$]*(?:Error|Exception)(?::|$)"
)


def _word(word: str) -> LogLevel | None:
    return _WORDS.get(word.lower())


# Every rule below that gives WARN or ERROR needs a level word (any case: the
# `level=` and JSON rules too, through their value), "Traceback" or an
# ...Error/...Exception name in the line, or a leading "{" (a JSON value may
# spell its word with \u escapes), a leading klog letter or an escape sequence
# (one may split a word). A line with none of them is INFO, found by one scan of
# the lowered line instead of six (case-insensitive regexes scan 5-10x slower):
# most lines, `Running cmd: ...` included.
_NEEDLES = re.compile(r"err|fatal|crit|panic|emerg|alert|sever|fail|exception|warn|traceback")


def level_of(text: str) -> LogLevel:
    """The level a reader would assign to this line; INFO when nothing says otherwise."""
    first = text[:1]
    if (first and first not in "EWF{" and not first.isspace() and "\x1b" not in text
            and not _NEEDLES.search(text.lower())):
        return LogLevel.INFO
    return level_by_rules(text)


def level_by_rules(text: str) -> LogLevel:
    """`level_of` without its shortcut (the reference it is tested against)."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    head = text.lstrip()
    if head.startswith("{") and head.rstrip().endswith("}"):
        try:
            record = json.loads(head)
        except ValueError:
            record = None
        if isinstance(record, dict):
            for key in ("level", "severity", "lvl", "levelname", "log.level"):
                value = record.get(key)
                if isinstance(value, str):
                    return _word(value) or LogLevel.INFO
            return LogLevel.INFO
    m = _KLOG.match(text)
    if m:
        return {"E": LogLevel.ERROR, "F": LogLevel.ERROR, "W": LogLevel.WARN}[m.group("c")]
    m = _TRACEBACK.match(head)
    if m:
        word = m.group("w")
        return LogLevel.WARN if word == "warning" else LogLevel.ERROR
    m = _PREFIX.match(text)
    if m:
        found = _word(m.group("w"))
        # "Failed"/"Exception" only count as a level when they are the line's first word.
        if found is not None:
            return found
    m = _UPPER.search(text, 0, 80)
    if m:
        return _word(m.group("w")) or LogLevel.INFO
    m = _FIELD.search(text)
    if m:
        return _word(m.group("w")) or LogLevel.INFO
    return LogLevel.INFO


def looks_like_error(text: str) -> bool:
    """For failure excerpts: a line worth showing first even if it is not the last one."""
    if level_of(text) is LogLevel.ERROR:
        return True
    lowered = text.lower()
    return any(w in lowered for w in _ERRORISH)


_ERRORISH = ("error", "exception", "traceback", "fatal", "failed", "cannot ", "not found", "no such", "undefined",
             "panic:", "denied")
